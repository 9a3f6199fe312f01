"""Per-workspace ed25519 keys: a host key (pinned in podbay's known_hosts) and a client key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from podbay.core import paths


@dataclass(frozen=True)
class WorkspaceKeys:
    folder: Path

    @property
    def host_key(self) -> Path:
        return self.folder / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        return self.folder / "id_ed25519"

    @property
    def machine_host_key(self) -> Path:
        """The SSH host key of the workspace's own machine (an EC2 instance), if it has one."""
        return self.folder / "machine_host_ed25519_key"

    def host_public(self) -> str:
        return _public_line(self.host_key)

    def machine_host_public(self) -> str:
        return _public_line(self.machine_host_key)

    def ensure(self) -> WorkspaceKeys:
        """The container's host key and the client key, generated once (0600, folder 0700)."""
        workspace = self.folder.name
        self.folder.mkdir(mode=0o700, exist_ok=True)
        for path, comment in (
            (self.host_key, f"{workspace}.podbay host key"),
            (self.client_key, f"podbay client key for {workspace}"),
        ):
            if not path.exists() or not Path(f"{path}.pub").exists():
                _generate(path, comment)
        return self

    def ensure_machine_key(self) -> Path:
        if not self.machine_host_key.exists() or not Path(f"{self.machine_host_key}.pub").exists():
            _generate(self.machine_host_key, f"{self.folder.name} machine host key")
        return self.machine_host_key

    def client_public(self) -> str:
        return _public_line(self.client_key)


def _public_line(private: Path) -> str:
    return Path(f"{private}.pub").read_text().strip()


def of(root: Path, workspace: str) -> WorkspaceKeys:
    """Where the workspace's keys live (they may not exist yet)."""
    return WorkspaceKeys(paths.keys_dir(root) / workspace)


def ensure(root: Path, workspace: str) -> WorkspaceKeys:
    """The workspace's keys, generated once (private 0600, public 0644, folder 0700)."""
    return of(root, workspace).ensure()


def _generate(path: Path, comment: str) -> None:
    # cryptography directly: importing asyncssh would add about 0.2 s to every `up`.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    Path(f"{path}.pub").write_bytes(public + b" " + comment.encode() + b"\n")
    os.chmod(f"{path}.pub", 0o644)
    partial.rename(path)
