"""A provider whose engine is reached over SSH (ssh://user@host), through real OpenSSH.

The "remote" is this machine: a private sshd on loopback, with a pinned host key. The ssh client
is the user's own `ssh` (the docker SDK and CLI both run it), pointed at a test config by a
wrapper first in PATH, so nothing in ~/.ssh is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.registries import free_port, wait_for_port

SSHD = "/usr/sbin/sshd"


@pytest.fixture
def ssh_engine(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    if not (os.path.exists(SSHD) and shutil.which("ssh") and os.geteuid() == 0):
        problem = "needs root, OpenSSH's sshd and ssh (run: make images)"
        if os.environ.get("PODBAY_REQUIRE_DOCKER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True
        )
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    port = free_port()
    (keys / "known_hosts").write_text(f"[127.0.0.1]:{port} {(keys / 'host.pub').read_text()}")
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        f"PasswordAuthentication no\nStrictModes no\nUsePAM no\nPidFile {keys / 'sshd.pid'}\n"
    )
    (keys / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {keys / 'client'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {keys / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {keys / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)
    sshd = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(keys / "sshd_config")], stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port)
        env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
        yield f"ssh://root@127.0.0.1:{port}", env
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)


def test_workspace_on_an_ssh_engine(podbay: Podbay, ssh_engine: tuple[str, dict[str, str]]) -> None:
    url, env = ssh_engine
    added = podbay.ok("provider", "add", "docker", "--name", "viassh", "-o", f"host={url}", env=env)
    assert "Docker " in added.stdout and url in added.stdout
    write_config(podbay.cwd / "far", {"image": IMAGE, "postCreateCommand": "echo far > /tmp/x"})
    podbay.ok("up", "far", "--provider", "viassh", env=env)
    [row] = podbay.json("list", env=env)
    assert (row["provider"], row["status"]) == ("viassh", "Running")
    assert podbay.ok("exec", "far", "--", "cat", "/tmp/x", env=env).stdout == "far\n"
    podbay.ok("delete", "far", "--yes", env=env)
