"""podbay's own ssh_config and known_hosts, rewritten whole from the workspace records.

`ssh NAME.podbay` works once `~/.ssh/config` includes this file (`podbay ssh-config install`).
Every host is pinned: StrictHostKeyChecking stays on and the only known_hosts is podbay's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from podbay import IMPORT_ROOT
from podbay.core.devcontainer.values import USER_NAME, WORKSPACE_NAME, has_control

SUFFIX = ".podbay"

# Seconds a master connection outlives its last session (OpenSSH's ControlPersist): sessions
# started meanwhile skip the ProxyCommand and the handshake. One second, the least OpenSSH
# has (0 is "forever"; "no" keeps the first ssh waiting for every later session): the
# connection forwards the user's ssh-agent, which the container must not keep once nobody
# is attached (it was 120 s before the agent was forwarded).
CONTROL_PERSIST = 1
# A unix socket path's limit less its NUL, and what OpenSSH adds while it binds the master's
# socket ("<ControlPath>.<16 random characters>", then renamed).
_SOCKET_MAX = 103 if sys.platform == "darwin" else 107
_MUX_SUFFIX = 17


@dataclass(frozen=True)
class HostEntry:
    name: str
    user: str
    identity_file: Path
    host_public_key: str  # "ssh-ed25519 AAAA... comment"


def ssh_config_path(root: Path) -> Path:
    return root / "ssh_config"


def known_hosts_path(root: Path) -> Path:
    return root / "known_hosts"


def control_dir(root: Path) -> Path:
    """Where the master connections' sockets are (made 0700 by the ProxyCommand, which runs
    before OpenSSH binds one: a missing folder would make ssh exit)."""
    return root / "cm"


def control_path(root: Path, name: str, user: str) -> Path | None:
    """The master socket of a workspace's connections as `user`, or None (no multiplexing)
    when its path would be too long for a unix socket. The user is part of its name: a master
    does not check the user a later connection asks for, so a changed remoteUser gets a
    master of its own."""
    path = control_dir(root) / hashlib.sha256(f"{name}\0{user}".encode()).hexdigest()[:12]
    return path if len(os.fsencode(path)) + _MUX_SUFFIX <= _SOCKET_MAX else None


def close_master(root: Path, name: str, user: str) -> None:
    """End a workspace's master connection, if it has one (at stop and delete), so no later
    connection is handed to a session on a container that is going away."""
    path = control_path(root, name, user)
    if path is None or not path.exists():
        return
    socket = str(path).replace("%", "%%")
    argv = ["ssh", "-F", "/dev/null", "-S", socket, "-O", "exit", "podbay"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(argv, capture_output=True, timeout=5, check=False)


def proxy_command(name: str) -> str:
    """The ProxyCommand for a workspace: podbay's stdio entry on this Python, site-free.

    Run once per connection, so it skips the CLI: `python -S -E` (no site-packages scan, which
    costs tens of milliseconds with an editable install) importing only the standard library.
    """
    code = (
        f"import sys; sys.path.insert(0, {IMPORT_ROOT!r}); "
        "import podbay.tui.ssh_proxy as p; p.main()"
    )
    return " ".join(sh_word(part) for part in (sys.executable, "-S", "-E", "-c", code, name))


def sh_word(value: str) -> str:
    """One shell word that OpenSSH's config reader also takes: double quotes with `\\`, `"`,
    `$` and backquote escaped (a single-quoted word ending in a backslash is read by OpenSSH as
    an unterminated quote)."""
    if value and all(c.isalnum() or c in "-_./=:,+@" for c in value):
        return value
    escaped = "".join("\\" + c if c in '\\"$`' else c for c in value)
    return f'"{escaped}"'


def _unsafe(value: str) -> bool:
    """ssh_config has no escape for a line break (a value holding a control character could
    start a new directive) nor for `${` (IdentityFile and UserKnownHostsFile expand `${VAR}`):
    such a value is never written."""
    return "${" in value or has_control(value)


def quote_word(value: str) -> str:
    """A path as one ssh_config word: in double quotes, with `\\`, `"` escaped, and `%` doubled
    (IdentityFile and UserKnownHostsFile expand %-tokens)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def entry_lines(root: Path, entry: HostEntry) -> list[str] | None:
    """The Host block of one workspace, or None when a value cannot be written safely."""
    known = str(known_hosts_path(root))
    values = (str(root), str(entry.identity_file), known, sys.executable)
    if not WORKSPACE_NAME.fullmatch(entry.name) or not USER_NAME.fullmatch(entry.user):
        return None
    if any(_unsafe(v) for v in values):
        return None
    host = f"{entry.name}{SUFFIX}"
    home_env = f"PODBAY_HOME={sh_word(str(root))} "
    # ProxyCommand is the rest of the line, handed to a shell after %-token expansion.
    proxy = f"env {home_env}{proxy_command(entry.name)}".replace("%", "%%")
    mux = []
    if (socket := control_path(root, entry.name, entry.user)) is not None:
        mux = [
            "  ControlMaster auto",
            f"  ControlPath {quote_word(str(socket))}",
            f"  ControlPersist {CONTROL_PERSIST}",
        ]
    return [
        f"Host {host}",
        f"  HostName {host}",
        f"  User {entry.user}",
        f"  ProxyCommand {proxy}",
        f"  IdentityFile {quote_word(str(entry.identity_file))}",
        "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {quote_word(known)}",
        "  StrictHostKeyChecking yes",
        "  HostKeyAlias " + host,
        # git over SSH inside uses the user's agent while a session is open (sshd removes its
        # socket with the connection); the keys never leave the agent.
        "  ForwardAgent yes",
        "  LogLevel ERROR",
        *mux,
        "",
    ]


def render(root: Path, entries: Iterable[HostEntry]) -> tuple[str, str]:
    """(ssh_config text, known_hosts text) for these hosts. An entry with a value that cannot
    be written safely is left out (podbay ssh still reaches it; `ssh NAME.podbay` does not)."""
    config = [
        "# Written by podbay; changes are overwritten. Include it from ~/.ssh/config:",
        "#   podbay ssh-config install",
        "",
    ]
    hosts = []
    for entry in sorted(entries, key=lambda e: e.name):
        key = entry.host_public_key.split()[:2]
        if len(key) != 2 or any(_unsafe(part) or " " in part for part in key):
            continue
        if not WORKSPACE_NAME.fullmatch(entry.name):
            continue
        # The key is pinned whatever happens to the Host block: podbay's own client uses it.
        hosts.append(f"{entry.name}{SUFFIX} {key[0]} {key[1]}")
        lines = entry_lines(root, entry)
        if lines is not None:
            config += lines
    return "\n".join(config), "\n".join(hosts) + ("\n" if hosts else "")


def write(root: Path, entries: Iterable[HostEntry]) -> None:
    config, known = render(root, list(entries))
    _write_private(ssh_config_path(root), config)
    _write_private(known_hosts_path(root), known)


def _write_private(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    partial.replace(path)
