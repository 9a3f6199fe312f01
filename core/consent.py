"""Consent before code or access that reaches beyond the container, for configs from elsewhere.

A repository podbay cloned, or an image's own metadata, is somebody else's: its
`initializeCommand` runs on this computer, and `runArgs`, `mounts` or metadata can ask for the
host's devices, namespaces or folders. Before any of that runs, `up` names it and asks once per
source and exact request (remembered in podbay's store); without a terminal it refuses unless
told `--yes`. A folder the user pointed at is theirs and is not asked about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from core.errors import PodbayError

# Asked of the user: (title, items) -> allowed?
Confirm = Callable[[str, list[str]], Awaitable[bool]]

_NAMESPACES = ("--pid", "--network", "--net", "--ipc", "--uts", "--userns", "--cgroupns")


class ConsentNeeded(PodbayError):
    kind = "consent-needed"


def _value(args: list[str], i: int) -> tuple[str, str, int]:
    """(option, value, next index) for `--opt=value` or `--opt value` at args[i]."""
    option, eq, value = args[i].partition("=")
    if eq:
        return option, value, i + 1
    return option, args[i + 1] if i + 1 < len(args) else "", i + 2


def _outside(source: str, folder: str) -> bool:
    if not source.startswith(("/", "~", ".")):
        return False  # a named volume
    path = PurePosixPath(source)
    return not (path == PurePosixPath(folder) or PurePosixPath(folder) in path.parents)


def risky_args(args: list[str], folder: str) -> list[str]:
    """What in `docker create` arguments reaches the host: privileges, host namespaces,
    devices, capabilities, unconfined security profiles, host paths outside `folder`."""
    found: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--privileged":
            found.append("runs privileged: full access to this computer's devices and kernel")
            i += 1
            continue
        if arg.startswith(_NAMESPACES) and arg.split("=")[0] in _NAMESPACES:
            option, value, i = _value(args, i)
            if value == "host":
                found.append(f"shares this computer's {option.lstrip('-')} namespace")
            continue
        if arg.split("=")[0] in ("--cap-add", "--device", "--security-opt"):
            option, value, i = _value(args, i)
            if option == "--cap-add":
                found.append(f"adds the capability {value}")
            elif option == "--device":
                found.append(f"gets this computer's device {value}")
            elif "unconfined" in value:
                found.append(f"turns off a security profile ({value})")
            continue
        if arg.split("=")[0] == "--mount":
            _, value, i = _value(args, i)
            fields = dict(part.partition("=")[::2] for part in value.split(","))
            source = fields.get("source") or fields.get("src") or ""
            if fields.get("type", "volume") == "bind" and _outside(source, folder):
                found.append(f"mounts this computer's {source}")
            continue
        if arg.split("=")[0] in ("-v", "--volume"):
            _, value, i = _value(args, i)
            source = value.split(":", 1)[0]
            if _outside(source, folder):
                found.append(f"mounts this computer's {source}")
            continue
        if arg.startswith("-v") and len(arg) > 2 and _outside(arg[2:].split(":", 1)[0], folder):
            found.append(f"mounts this computer's {arg[2:].split(':', 1)[0]}")
        i += 1
    return found


def key(source: str, items: list[str]) -> str:
    """What a consent is remembered by: the source and exactly what was allowed."""
    text = "\0".join([source, *items])
    return "consent:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def refusal(title: str, items: list[str], name: str) -> ConsentNeeded:
    return ConsentNeeded(
        f"{title}: " + "; ".join(items),
        f"read it, then allow it once for this source with: podbay up {name} --yes",
    )
