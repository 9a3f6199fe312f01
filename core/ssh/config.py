"""podbay's own ssh_config and known_hosts, rewritten whole from the workspace records.

`ssh NAME.podbay` works once `~/.ssh/config` includes this file (`podbay ssh-config install`).
Every host is pinned: StrictHostKeyChecking stays on and the only known_hosts is podbay's own.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".podbay"


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


def proxy_command(name: str) -> str:
    """The ProxyCommand for a workspace: podbay's stdio entry on this Python, site-free.

    Run once per connection, so it skips the CLI: `python -S -E` (no site-packages scan, which
    costs tens of milliseconds with an editable install) importing only the standard library.
    """
    source_root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.insert(0, {source_root!r}); import core.attach as a; a.stdio_main()"
    )
    return " ".join(shlex.quote(part) for part in (sys.executable, "-S", "-E", "-c", code, name))


def _quote(path: str) -> str:
    # ssh_config takes double quotes around words with spaces.
    return f'"{path}"' if any(c.isspace() for c in path) else path


def render(root: Path, entries: Iterable[HostEntry]) -> tuple[str, str]:
    """(ssh_config text, known_hosts text) for these hosts."""
    known = known_hosts_path(root)
    home_env = f"PODBAY_HOME={shlex.quote(str(root))} "
    config = [
        "# Written by podbay; changes are overwritten. Include it from ~/.ssh/config:",
        "#   podbay ssh-config install",
        "",
    ]
    hosts = []
    for entry in sorted(entries, key=lambda e: e.name):
        host = f"{entry.name}{SUFFIX}"
        config += [
            f"Host {host}",
            f"  HostName {host}",
            f"  User {entry.user}",
            f"  ProxyCommand env {home_env}{proxy_command(entry.name)}",
            f"  IdentityFile {_quote(str(entry.identity_file))}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {_quote(str(known))}",
            "  StrictHostKeyChecking yes",
            "  HostKeyAlias " + host,
            "  LogLevel ERROR",
            "",
        ]
        key_type, key_data = entry.host_public_key.split()[:2]
        hosts.append(f"{host} {key_type} {key_data}")
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
