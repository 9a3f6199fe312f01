"""Registry credentials for a `docker build` on a workspace's own machine, lent for the build.

The build runs on the machine (its context is there), and its docker CLI gets a DOCKER_CONFIG
of podbay's for that build only: `credsStore: podbay`, a credential helper that asks podbay
through a socket forwarded over the machine connection. podbay answers for the registries of
the Dockerfile's FROM lines with this computer's docker credentials (its config.json and
credential helpers, core.registry.credentials) or, for an ECR registry of the provider's
account, a token from the provider (ecr:GetAuthorizationToken). The machine keeps no
credential: the helper and a config naming it are all that is written there, and both go
when the build ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from podbay.core.host import HostSession

# (registry host) -> (user, secret) or None; may ask a provider (ECR).
Lookup = Callable[[str], Awaitable[tuple[str, str] | None]]

DOCKER_HUB = "https://index.docker.io/v1/"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Run by the machine's docker CLI as `docker-credential-podbay get|list|store|erase`.
HELPER = """#!/usr/bin/env python3
# podbay: asks the computer podbay runs on for a registry's credentials; keeps nothing.
import socket, sys
op = sys.argv[1] if len(sys.argv) > 1 else ""
if op not in ("get", "list"):
    sys.exit(0)
asked = sys.stdin.read().strip() if op == "get" else ""
s = socket.socket(socket.AF_UNIX)
s.connect({socket!r})
s.sendall((op + "\\n" + asked + "\\n\\n").encode())
answer = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    answer += chunk
if op == "get" and not answer:
    sys.stdout.write("credentials not found in native keychain")
    sys.exit(1)
sys.stdout.buffer.write(answer or b"{{}}")
"""

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE | re.MULTILINE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")


def registry_of(image: str) -> str:
    """The registry an image reference names (Docker Hub's key when none, or one of its
    names)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB if first in HUB_NAMES else first
    return DOCKER_HUB


def from_registries(dockerfile: str, args: Mapping[str, str]) -> list[str]:
    """The registries a Dockerfile's FROM lines pull from (build args and ARG defaults
    filled in; earlier stages and `scratch` left out)."""
    dockerfile = re.sub(r"\\\s*\n", " ", dockerfile)  # continued lines are one
    values: dict[str, str] = {}
    first_from = _FROM.search(dockerfile)
    head = dockerfile[: first_from.start()] if first_from else dockerfile
    for match in _ARG.finditer(head):
        default = (match.group(2) or "").strip("\"'")
        values[match.group(1)] = args.get(match.group(1), default)
    values.update(args)

    def fill(text: str) -> str:
        return _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(3), m.group(2) or ""), text)

    stages: set[str] = set()
    found: list[str] = []
    for match in _FROM.finditer(dockerfile):
        image = fill(match.group(1))
        if image.lower() not in stages and image != "scratch" and image:
            found.append(registry_of(image))
        if match.group(2):
            stages.add(match.group(2).lower())
    return list(dict.fromkeys(found))


@contextlib.asynccontextmanager
async def for_build(
    host: HostSession, registries: list[str], lookup: Lookup | None
) -> AsyncIterator[dict[str, str]]:
    """The environment of a `docker build` on the machine that lends `registries`' credentials
    while it runs ({} when none has any: the build goes as it would)."""
    known: dict[str, tuple[str, str]] = {}
    for registry in registries if lookup is not None else []:
        assert lookup is not None
        found = await lookup(registry)
        if found is not None:
            known[registry] = found
    if host.local or not known:
        yield {}
        return
    made = await host.run(["mktemp", "-d", "/tmp/podbay-docker.XXXXXXXX"])
    if made.returncode != 0:
        yield {}  # (the build goes without: it says what the registry refused)
        return
    workdir = made.stdout.strip()
    socket = f"{workdir}/ask.sock"

    async def answer(request: bytes) -> bytes:
        op, _, asked = request.decode("utf-8", "replace").partition("\n")
        asked = asked.strip()
        if op == "list":
            return json.dumps({r: user for r, (user, _) in known.items()}).encode()
        key = asked.removeprefix("https://").removeprefix("http://").rstrip("/")
        found = known.get(asked) or known.get(key)
        if op != "get" or found is None:
            return b""
        return json.dumps({"ServerURL": asked, "Username": found[0], "Secret": found[1]}).encode()

    try:
        helper = f"{workdir}/docker-credential-podbay"
        await host.write_bytes(helper, HELPER.format(socket=socket).encode())
        await host.write_bytes(f"{workdir}/config.json", b'{"credsStore": "podbay"}\n')
        await host.run(["chmod", "700", workdir, helper])
        async with host.serve(socket, answer):
            yield {"DOCKER_CONFIG": workdir, "PATH": f"{workdir}:{PATH}"}
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(host.run(["rm", "-rf", "--", workdir]))
