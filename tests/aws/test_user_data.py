"""podbay's real user-data, run as root on a Debian machine under real OpenSSH (the stand-in):
the login user and keys, only podbay's host key on offer, and the inactivity watchdog."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from podbay.core.ssh import keys as ssh_keys


def _in(name: str, script: str, user: str = "root") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", "-u", user, name, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ssh(port: int, keys: ssh_keys.WorkspaceKeys, known: Path, *cmd: str) -> list[str]:
    return [
        "ssh",
        "-p",
        str(port),
        "-i",
        str(keys.client_key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={known}",
        "podbay@127.0.0.1",
        *cmd,
    ]


def test_user_data_makes_a_pinned_key_only_machine(machine: Any, tmp_path: Path) -> None:
    name, port, keys = machine
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {keys.machine_host_public()}\n")
    # OpenSSH with strict checking against podbay's key alone: the machine offers exactly it.
    result = subprocess.run(
        _ssh(
            port, keys, known, "id -nG; sudo -n true && echo sudo-ok; ls -l ~/.ssh/authorized_keys"
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    groups, sudo, listing = result.stdout.splitlines()
    assert "docker" in groups.split() and "sudo" in groups.split()
    assert sudo == "sudo-ok"
    assert listing.startswith("-rw------- 1 podbay podbay")
    config = _in(name, "sshd -T").stdout
    # Only podbay's key is offered, though the image made its own at boot.
    offered = [line.split()[1] for line in config.split("\n") if line.startswith("hostkey ")]
    assert offered == ["/etc/ssh/podbay/ssh_host_ed25519_key"]
    assert "passwordauthentication no" in config and "permitrootlogin no" in config
    assert _in(name, "test -e /var/lib/podbay/ready").returncode == 0
    # Docker and git from the mirror; BuildKit asked for, and its absence (Ubuntu releases
    # without a docker-buildx package, as this mirror) is no failure.
    asked = _in(name, "cat /var/log/standin-apt.log").stdout
    assert "install -y -q docker.io git" in asked and "install -y -q docker-buildx" in asked
    units = _in(name, "cat /etc/systemd/system/podbay-idle.service").stdout
    assert "PODBAY_IDLE_MINUTES=30" in units


def test_the_watchdog_powers_off_only_after_idle_time_without_ssh(
    machine: Any, tmp_path: Path
) -> None:
    name, port, keys = machine
    check = (
        "PODBAY_IDLE_MINUTES=30 PODBAY_IDLE_STATE=/tmp/idle "
        "PODBAY_IDLE_POWEROFF='touch /tmp/powered-off' /usr/local/sbin/podbay-idle; "
        "test -e /tmp/powered-off && echo off || echo on"
    )
    # Idle for 31 minutes with no SSH connection: power off.
    assert _in(name, f"touch -d '-31 minutes' /tmp/idle; {check}").stdout == "off\n"
    _in(name, "rm /tmp/powered-off")
    # Only 10 minutes: stay on.
    assert _in(name, f"touch -d '-10 minutes' /tmp/idle; {check}").stdout == "on\n"
    # 31 minutes since the last check, but an SSH session is open now: stay on, reset the clock.
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {keys.machine_host_public()}\n")
    session = subprocess.Popen(
        _ssh(port, keys, known, "echo connected; sleep 60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert session.stdout is not None
        assert session.stdout.readline() == "connected\n"
        assert _in(name, f"touch -d '-31 minutes' /tmp/idle; {check}").stdout == "on\n"
        age = _in(name, "echo $(( $(date +%s) - $(stat -c %Y /tmp/idle) ))").stdout
        assert int(age) < 60
    finally:
        session.kill()
        session.wait()
