"""Consent before code or access that reaches beyond the container, for configs from elsewhere.

A repository podbay cloned, or an image's own metadata, is somebody else's: its
`initializeCommand` runs on this computer, its build and its container arguments can ask for
the host's devices, namespaces, files or folders. Before any of that runs, `up` names it and
asks once per source and exact request (remembered in podbay's store); without a terminal it
refuses unless told `--yes`. A folder the user pointed at is theirs and is not asked about.

Docker options are judged by an allowlist: what podbay knows to stay inside the container
passes, anything else is named.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shlex
from collections.abc import Iterator

from podbay.core.devcontainer.plan import DockerfileBuild, HostRequests
from podbay.core.devcontainer.values import printable
from podbay.core.errors import PodbayError
from podbay.core.model import Workspace
from podbay.core.provider import Confirm as Confirm  # (asked of the user; re-exported)
from podbay.core.store import Store


class ConsentNeeded(PodbayError):
    kind = "consent-needed"


# `docker run` options that stay inside the container (with a value / without one).
_SAFE_WITH_VALUE = {
    "-e", "--env", "-p", "--publish", "--shm-size", "--ulimit", "-m", "--memory",
    "--memory-swap", "--memory-reservation", "--memory-swappiness", "--cpus", "--cpu-shares",
    "-c", "--cpuset-cpus", "--cpuset-mems", "--cpu-period", "--cpu-quota", "-h", "--hostname",
    "--domainname", "--add-host", "-l", "--label", "-u", "--user", "-w", "--workdir",
    "--entrypoint", "--tmpfs", "--stop-signal", "--stop-timeout", "--restart", "--gpus",
    "--platform", "--pull", "--dns", "--dns-search", "--dns-option", "--health-cmd",
    "--health-interval", "--health-retries", "--health-timeout", "--health-start-period",
    "--sysctl", "--oom-score-adj", "--pids-limit", "--group-add", "--mac-address", "--ip",
    "--ip6", "--expose", "--network-alias", "--name", "--blkio-weight", "--storage-opt",
    "--log-opt",
}  # fmt: skip
_SAFE_FLAGS = {
    "--init", "--rm", "-i", "--interactive", "-t", "--tty", "-d", "--detach", "--read-only",
    "-P", "--publish-all", "--no-healthcheck", "--oom-kill-disable",
}  # fmt: skip
# Safe unless their value is `host` or joins another container (`container:ID`).
_NAMESPACES = {"--network", "--net", "--pid", "--ipc", "--uts", "--userns", "--cgroupns"}
_SHORT_WITH_VALUE = set("epmchluwv")  # `docker run`'s one-letter options that take a value

# `docker build` options that stay inside the build.
_BUILD_SAFE_WITH_VALUE = {
    "--build-arg", "--target", "--progress", "--platform", "--label", "--cache-from",
    "--add-host", "--shm-size", "--ulimit", "-m", "--memory", "--memory-swap", "--cpu-shares",
    "--cpuset-cpus", "--cpu-period", "--cpu-quota", "-t", "--tag",
}  # fmt: skip
_BUILD_SAFE_FLAGS = {"--pull", "--no-cache", "-q", "--quiet", "--rm", "--force-rm"}
_BUILD_SHORT_WITH_VALUE = set("ftmo")


def _outside(path: str, folder: str) -> bool:
    """Whether `path` (symlinks and `..` resolved, as Docker resolves them) leaves `folder`."""
    real = os.path.realpath(os.path.expanduser(path))
    inside = os.path.realpath(folder)
    return real != inside and not real.startswith(inside.rstrip("/") + "/")


def _host_path(source: str) -> bool:
    return source.startswith(("/", "~", "."))


def _mount(spec: str, folder: str) -> list[str]:
    """A `--mount` spec: docker reads it as CSV with case-insensitive keys."""
    try:
        fields = next(csv.reader([spec]))
    except (csv.Error, StopIteration):
        return [f"mounts {printable(spec)}, which podbay cannot read"]
    pairs = [(k.strip().lower(), v) for k, _, v in (f.partition("=") for f in fields)]
    # Docker takes the last of `source`/`src`, and of `type`.
    source = next((v for k, v in reversed(pairs) if k in ("source", "src")), "")
    kind = next((v for k, v in reversed(pairs) if k == "type"), "volume").lower()
    if kind == "bind" and _outside(source, folder):
        return [f"mounts this computer's {printable(source, 300)}"]
    if any(k in ("volume-opt", "volume-driver") for k, _ in pairs):
        # The local driver's options bind any host path (device=/, o=bind).
        return [f"mounts a volume with driver options ({printable(spec, 300)})"]
    if kind not in ("bind", "volume", "tmpfs"):
        return [f"mounts {printable(spec)}"]
    return []


def _volume(value: str, folder: str) -> list[str]:
    if ":" not in value:
        return []  # `-v /path`: an anonymous volume at /path, nothing of this computer's
    source = value.split(":", 1)[0]
    if _host_path(source) and _outside(source, folder):
        return [f"mounts this computer's {printable(source, 300)}"]
    return []


def _safe_security_option(value: str) -> bool:
    """Options that only take privileges away."""
    return value.replace("=", ":") in ("no-new-privileges", "no-new-privileges:true")


def _options(
    args: list[str], short_with_value: set[str] = _SHORT_WITH_VALUE
) -> Iterator[tuple[str, str | None]]:
    """(option, value) pairs of docker options: `--x=v`, `--x v`, `-abc`, `-xVALUE`."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            continue  # a stray value
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if eq:
                yield name, value
            elif name in _SAFE_FLAGS or name in _BUILD_SAFE_FLAGS or name == "--privileged":
                yield name, None
            else:
                yield name, args[i] if i < len(args) else ""
                i += 1
            continue
        letters = arg[1:]
        for at, letter in enumerate(letters):
            if letter in short_with_value:
                rest = letters[at + 1 :]
                if rest:
                    yield f"-{letter}", rest.removeprefix("=")
                else:
                    yield f"-{letter}", args[i] if i < len(args) else ""
                    i += 1
                break
            yield f"-{letter}", None


def _run_args(args: list[str], folder: str) -> list[str]:
    found: list[str] = []
    for name, value in _options(args):
        if name == "--privileged":
            if value is None or value.lower() not in ("false", "0"):
                found.append(_PRIVILEGED)
        elif name in _NAMESPACES:
            if value == "host" or (value or "").startswith("container:"):
                found.append(f"shares the {name.lstrip('-')} namespace of {value}")
        elif name == "--mount":
            found += _mount(value or "", folder)
        elif name in ("-v", "--volume"):
            found += _volume(value or "", folder)
        elif name == "--env-file":
            # Read on this computer: fine from the source's own folder, asked about elsewhere.
            path = os.path.join(folder, value or "")
            if _outside(path, folder):
                found.append(f"reads this computer's file {printable(value or '', 300)}")
        elif (
            name == "--cap-drop"
            or (name == "--security-opt" and _safe_security_option(value or ""))
            or (name in _SAFE_FLAGS and value is None)
            or name in _SAFE_WITH_VALUE
        ):
            continue
        else:
            shown = name if value is None else f"{name} {value}"
            found.append(f"passes docker {printable(shown)}, which podbay does not know to be safe")
    return found


_PRIVILEGED = "runs privileged: full access to this computer's devices and kernel"


def container_access(requests: HostRequests, folder: str) -> list[str]:
    """What a container's settings reach beyond it: privileges, capabilities, security
    profiles, host folders outside `folder`, and any `runArgs` option not known to be safe."""
    found: list[str] = [_PRIVILEGED] if requests.privileged else []
    found += [f"adds the capability {printable(cap)}" for cap in requests.cap_add]
    found += [
        f"sets the security option {printable(opt)}"
        for opt in requests.security_opt
        if not _safe_security_option(opt)
    ]
    for spec in requests.mounts:
        found += _mount(spec, folder)
    found += _run_args(requests.run_args, folder)
    return list(dict.fromkeys(found))


def build_access(build: DockerfileBuild | None, config_dir: str, folder: str) -> list[str]:
    """What a Dockerfile build reaches beyond the source: a context or Dockerfile outside it,
    and any build option not known to be safe (secrets, ssh, outputs, host network, ...)."""
    if build is None:
        return []
    found: list[str] = []
    for what, path in (("build context", build.context), ("Dockerfile", build.dockerfile)):
        if _outside(os.path.join(config_dir, path), folder):
            found.append(f"builds with this computer's {printable(path)} as its {what}")
    for name, value in _options(build.options, _BUILD_SHORT_WITH_VALUE):
        if name in _BUILD_SAFE_FLAGS and value is None:
            continue
        if name in _BUILD_SAFE_WITH_VALUE:
            continue
        if (
            name == "--network"
            and value not in ("host",)
            and not (value or "").startswith("container:")
        ):
            continue
        shown = name if value is None else f"{name} {value}"
        found.append(f"builds with {printable(shown)}, which podbay does not know to be safe")
    return found


def key(source: str, items: list[str]) -> str:
    """What a consent is remembered by: the source and exactly what was shown."""
    text = "\0".join([source, *items])
    return "consent:" + hashlib.sha256(text.encode()).hexdigest()[:32]


async def ask(
    store: Store,
    ws: Workspace,
    title: str,
    items: list[str],
    yes: bool,
    confirm: Confirm | None,
    new_workspace: bool,
) -> None:
    """Go on only with the user's consent for what a source from elsewhere (a cloned
    repository, an image) asks beyond its container; remembered per source and request."""
    if not items or ws.source.kind not in ("git", "image"):
        return
    remembered = key(ws.source.value, items)
    if store.get_meta(remembered):
        return
    if ws.source.kind == "git":
        title = f"{ws.name}: the repository {ws.source.display()} says {title}"
    else:
        title = f"{ws.name}: the image {ws.source.value} says {title}"
    if not (yes or (confirm is not None and await confirm(title, items))):
        # A new workspace is forgotten after this refusal: run again from its SOURCE.
        again = (
            f"podbay up {_source_arg(ws)} --name {ws.name}"
            if new_workspace
            else (f"podbay up {ws.name}")
        )
        raise ConsentNeeded(
            f"{title}: " + "; ".join(items),
            f"read it, then allow it once for this source with: {again} --yes",
        )
    store.set_meta(remembered, "allowed")


def _source_arg(ws: Workspace) -> str:
    """SOURCE as `podbay up` takes it (credentials in a URL stay hidden)."""
    if ws.source.kind == "git":
        return shlex.quote(ws.source.display())
    return shlex.quote(ws.source.value)
