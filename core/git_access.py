"""A private repository cloned on a workspace's machine with the user's own credentials, which
never leave this computer.

- `git@host:path` and `ssh://` URLs: the clone's session (and only it) gets this computer's
  ssh-agent, over a connection of its own closed when the clone ends; the repository host's key
  is the one this computer's known_hosts already holds (strict checking, never trust on first
  use).
- `https://` and `http://` URLs without credentials in them: git on the machine is given a
  credential helper that asks podbay through a socket forwarded over the machine connection,
  and podbay asks this computer's git (`git credential fill`), for the repository's own
  protocol and host only.

On this computer (the local Docker provider) git clones with the user's setup as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from podbay.core.devcontainer.values import printable
from podbay.core.errors import SourceError
from podbay.core.host import HostSession

KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2", "/etc/ssh/ssh_known_hosts")

# Run by git on the machine as `helper get`; python3 ships with every Ubuntu cloud image.
HELPER = """#!/usr/bin/env python3
# podbay: asks the computer podbay runs on for this repository's credentials.
import socket, sys
if sys.argv[1:2] != ["get"]:
    sys.exit(0)
s = socket.socket(socket.AF_UNIX)
s.connect({socket!r})
s.sendall(sys.stdin.buffer.read().rstrip(b"\\n") + b"\\n\\n")
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
"""


@dataclass(frozen=True)
class Remote:
    """Where a git URL points: its transport, its host (with a port other than the default),
    and for ssh the name to look up in known_hosts."""

    protocol: str  # "ssh", "https", "http", or "" for one podbay does not help with
    host: str
    known_as: str = ""
    has_credentials: bool = False  # a password (or token) in the URL itself
    user: str = ""


def remote(url: str) -> Remote:
    scheme, sep, rest = url.partition("://")
    if not sep:
        # scp-like user@host:path (check_git_url admitted it)
        match = re.match(r"^(?:([^@/]+)@)?([^:/]+):", url)
        if not match:
            return Remote("", "")
        return Remote("ssh", match.group(2), match.group(2), user=match.group(1) or "")
    authority = rest.split("/", 1)[0]
    userinfo, at, hostport = authority.rpartition("@")
    host, _, port = hostport.partition(":")
    if hostport.startswith("["):  # [v6]:port
        host, _, port = hostport[1:].partition("]")
        port = port.removeprefix(":")
    scheme = scheme.lower()
    user, _, password = userinfo.partition(":") if at else ("", "", "")
    if scheme == "ssh":
        known = f"[{host}]:{port}" if port and port != "22" else host
        return Remote("ssh", host, known, user=user)
    if scheme in ("https", "http"):
        # A user name alone (https://org@dev.azure.com/...) still needs the password asked.
        return Remote(scheme, hostport.lower(), has_credentials=bool(password), user=user)
    return Remote("", host)


@dataclass
class CloneAccess:
    """What the clone command needs: git options before `clone`, environment, the agent."""

    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    forward_agent: bool = False
    hint: str = ""  # said when the clone fails


@contextlib.asynccontextmanager
async def for_clone(url: str, host: HostSession) -> AsyncIterator[CloneAccess]:
    where = remote(url)
    if host.local or not where.protocol or where.has_credentials:
        yield CloneAccess()
        return
    made = await host.run(["mktemp", "-d", "/tmp/podbay-git.XXXXXXXX"])
    if made.returncode != 0:
        raise SourceError(
            f"cannot prepare the clone on the machine: {made.stderr.strip()[-200:]}",
            "is the machine's /tmp writable? podbay ssh NAME to look",
        )
    workdir = made.stdout.strip()
    try:
        if where.protocol == "ssh":
            yield await _ssh_access(where, workdir, host)
        else:
            socket = f"{workdir}/ask.sock"
            helper = f"{workdir}/credential-helper"
            await host.write_bytes(helper, HELPER.format(socket=socket).encode())
            await host.run(["chmod", "700", helper])
            async with host.serve(socket, lambda request: fill(request, where)):
                yield CloneAccess(
                    # Only this helper: none the machine may have, none in the repository.
                    args=["-c", "credential.helper=", "-c", f"credential.helper={helper}"],
                    hint=(
                        "podbay asked this computer's git for the credentials of "
                        f"{printable(where.protocol + '://' + where.host)} (git credential "
                        "fill); store them with your credential helper: sign in once with git "
                        "here"
                    ),
                )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(host.run(["rm", "-rf", "--", workdir]))


async def _ssh_access(where: Remote, workdir: str, host: HostSession) -> CloneAccess:
    lines = await asyncio.to_thread(known_host_lines, where.known_as)
    if not lines:
        port = where.known_as.rpartition("]:")[2] if where.known_as.startswith("[") else ""
        login = f"{where.user or 'git'}@{where.host}"
        try_it = f"ssh -p {port} -T {login}" if port else f"ssh -T {login}"
        raise SourceError(
            f"the SSH host key of {printable(where.host)} is not in this computer's known_hosts",
            f"connect once from here to check and keep it, e.g. {printable(try_it)}",
        )
    known = f"{workdir}/known_hosts"
    await host.write_bytes(known, ("\n".join(lines) + "\n").encode())
    ssh = (
        f"ssh -o UserKnownHostsFile={shlex.quote(known)} -o GlobalKnownHostsFile=/dev/null "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes"
    )
    agent = bool(os.environ.get("SSH_AUTH_SOCK"))
    return CloneAccess(
        env={"GIT_SSH_COMMAND": ssh},
        forward_agent=agent,
        hint=(
            "podbay lends the clone this computer's ssh-agent; add the key that can read it: "
            "ssh-add"
            if agent
            else "start ssh-agent here and ssh-add the key that can read it (podbay lends "
            "the clone your agent, never the key)"
        ),
    )


def known_host_lines(name: str) -> list[str]:
    """This computer's known_hosts lines for `name` (hashed ones too)."""
    found: list[str] = []
    for path in KNOWN_HOSTS:
        file = Path(path).expanduser()
        if not file.is_file():
            continue
        try:
            done = subprocess.run(
                ["ssh-keygen", "-F", name, "-f", str(file)],
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            return []
        found += [x for x in done.stdout.splitlines() if x.strip() and not x.startswith("#")]
    return found


# What git's credential protocol may carry back to the machine: the credentials, no more.
ANSWER_KEYS = ("username", "password")


async def fill(request: bytes, where: Remote) -> bytes:
    """Answer a helper's `get` with this computer's `git credential fill`, only for the
    repository's protocol and host."""
    asked: dict[str, str] = {}
    for line in request.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("protocol", "host", "path", "username"):
            asked[key] = value
    if asked.get("protocol") != where.protocol or asked.get("host", "").lower() != where.host:
        return b""
    query = "".join(f"{k}={v}\n" for k, v in asked.items() if "\n" not in v) + "\n"

    def fill() -> str:
        try:
            done = subprocess.run(
                ["git", "credential", "fill"],
                input=query,
                capture_output=True,
                text=True,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
                timeout=120,
                check=False,
            )
        except (FileNotFoundError, subprocess.TimeoutExpired):
            return ""
        return done.stdout if done.returncode == 0 else ""

    answer = await asyncio.to_thread(fill)
    kept = [x for x in answer.splitlines() if x.partition("=")[0] in ANSWER_KEYS]
    return "".join(f"{x}\n" for x in kept).encode()
