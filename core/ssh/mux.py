"""A kept connection to a workspace's machine for podbay's short commands (`exec`, `logs
--container`, the quick `up`): OpenSSH's ssh over a master connection (ControlMaster), so a
command after the first costs a round trip, not a handshake and a Python SSH client's start.

The master lives PERSIST seconds after its last command, with the same pinning as every
other connection (core/ssh/machine.py): the machine's host key podbay pinned, in a
known_hosts file of podbay's under an alias (never the user's known_hosts, never an address).
A workspace's own VM is logged in to with podbay's key alone (not the user's ssh_config,
keys or agent); a machine of the user's (the ssh provider) as the user logs in, as `ssh HOST`
would, plus the identity_file they gave. The user's agent is never forwarded on it; the one
forward is the machine's Docker socket to an owner-only socket here (forward_docker, for the
quick `up`). Where this cannot be
used (no ssh here, a path too long for a socket, a value ssh_config could misread), None:
the caller goes through asyncssh as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

PERSIST = 300  # seconds a master outlives its last command
_SOCKET_MAX = 103 if sys.platform == "darwin" else 107
_MUX_SUFFIX = 17  # ssh binds "<ControlPath>.<16 random characters>", then renames it
_KEY = re.compile(r"[A-Za-z0-9-]+ [A-Za-z0-9+/=]+")
_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]+")


def argv(
    root: Path, record: dict[str, Any], client_key: Path, command: str, tty: bool
) -> list[str] | None:
    """ssh's argv running `command` (one line of sh) on the machine of a workspace's
    machine record (its `ssh` part, as stored; read as machine.MachineAddress.from_record
    reads it, without its imports: this is `exec`'s path) over the kept connection, or None
    where that cannot be used."""
    ssh = shutil.which("ssh")
    own = bool(record.get("own_identity"))
    host, port = str(record.get("host") or ""), int(record.get("port") or 0)
    user = str(record.get("user") or "")
    key = " ".join(str(record.get("host_public_key") or "").split()[:2])
    if ssh is None or not _KEY.fullmatch(key) or not _HOST.fullmatch(host):
        return None
    if user and not re.fullmatch(r"[A-Za-z0-9._][A-Za-z0-9._-]*", user):
        return None
    given = str(record.get("identity_file") or "")
    identity = str(Path(given).expanduser()) if own and given else "" if own else str(client_key)
    if any(c in identity for c in "\n\r%") or identity.startswith("-"):
        return None
    seed = f"{host}\0{port}\0{user}\0{key}\0{identity}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    folder = root / "cm"
    socket = folder / f"m-{digest}"
    if len(str(socket)) + _MUX_SUFFIX > _SOCKET_MAX or "%" in str(socket):
        return None
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    alias = f"podbay-machine-{digest}"
    known = folder / f"m-{digest}.known_hosts"
    line = f"{alias} {key}\n"
    try:
        current = known.read_text()
    except OSError:
        current = ""
    if current != line:
        partial = known.with_suffix(f".{os.getpid()}")
        partial.write_text(line)
        partial.chmod(0o600)
        partial.replace(known)
    options = {
        "ControlMaster": "auto",
        "ControlPath": str(socket),
        "ControlPersist": str(PERSIST),
        "BatchMode": "yes",
        "StrictHostKeyChecking": "yes",
        "UserKnownHostsFile": str(known),
        "GlobalKnownHostsFile": "/dev/null",
        "HostKeyAlias": alias,
        "CheckHostIP": "no",
        "UpdateHostKeys": "no",
        "ForwardAgent": "no",
        "ClearAllForwardings": "yes",
        "LogLevel": "QUIET",
        "ConnectTimeout": "10",
        "ServerAliveInterval": "15",
        "ServerAliveCountMax": "2",
    }
    args = [ssh]
    if not own:
        args += ["-F", "/dev/null"]
        options |= {"IdentitiesOnly": "yes", "IdentityAgent": "none"}
    if identity:
        args += ["-i", identity]
        options["IdentitiesOnly"] = "yes"
    for name, value in options.items():
        args += ["-o", f"{name}={value}"]
    if port:
        args += ["-p", str(port)]
    if user:
        args += ["-l", user]
    args += ["-t" if tty else "-T", "--", host, command]
    return args


REMOTE_DOCKER = "/var/run/docker.sock"  # where the ssh provider finds the machine's engine


def _quietly(argv: list[str], extra: list[str], command: list[str]) -> bool:
    """This ssh argv's options (for the same master) with `extra` and `command` instead of
    its own: whether it succeeded, nothing shown."""
    import subprocess

    at = argv.index("--")
    run = [*argv[:at], *extra, "--", argv[at + 1], *command]
    quiet = subprocess.DEVNULL
    return subprocess.run(run, stdin=quiet, stdout=quiet, stderr=quiet).returncode == 0


def ensure_up(argv: list[str]) -> bool:
    """Whether the kept connection of this ssh argv is up (`ssh -O check`), else started (a
    `true` over it, which leaves the master behind)."""
    if _quietly(argv, ["-O", "check"], []):
        return True
    at = argv.index("--")
    plain = [a if a != "-t" else "-T" for a in argv[:at]]
    return _quietly([*plain, *argv[at:]], [], ["true"])


def _control_path(argv: list[str]) -> str:
    return next(a.removeprefix("ControlPath=") for a in argv if a.startswith("ControlPath="))


def docker_socket(argv: list[str]) -> str | None:
    """The local socket forwarded to the machine's Docker on the kept connection of this ssh
    argv (by forward_docker), or None when there is none (yet)."""
    path = _control_path(argv) + ".docker"
    return path if os.path.exists(path) else None


def forward_docker(argv: list[str]) -> bool:
    """Forward the machine's Docker socket to a socket beside the master's (owner-only, in
    podbay's 0700 folder), on the master connection: it lives as long as the master. A socket
    left by an earlier master is replaced."""
    at = argv.index("--")
    local = _control_path(argv) + ".docker"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(local)
    options = argv[:at]
    if "ClearAllForwardings=yes" in options:  # (it would clear this forward too)
        clear = options.index("ClearAllForwardings=yes")
        options = [*options[: clear - 1], *options[clear + 1 :]]
    forward = ["-O", "forward", "-L", f"{local}:{REMOTE_DOCKER}"]
    return _quietly([*options, *argv[at:]], forward, [])
