"""The ssh provider against a real machine: a container running OpenSSH, with a login user in
the docker group of the test machine's Docker (its socket and CLI mounted, as the AWS
stand-in has them). podbay logs in with the user's own key (identity_file) and pins the host
key the user confirmed; workspaces run on the machine's Docker, their folders under its
workdir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.docker.test_secrets import openssh
from tests.unit.test_cli_errors import assert_clean_error

# Boots the machine: host keys, the login user `dev` with the test's key, in a docker group of
# the socket's own group id, the docker CLI; then sshd in the foreground. DOCKER=no-group: the
# user is not in the group; DOCKER=none: no docker CLI at all. DOCKER=sudo: no docker CLI, sudo
# without a password, and apt's one source a repository in /machine/repo whose docker.io
# installs the docker CLI (the package's download is all that is not real); DOCKER=sudo-group:
# the CLI, not in the group, sudo.
BOOT = """set -eu
ssh-keygen -A >/dev/null
useradd --create-home --shell /bin/bash dev
gid=$(stat -c %g /var/run/docker.sock)
groupadd -g "$gid" docker 2>/dev/null || true
if [ "$DOCKER" = yes ]; then
  usermod -aG "$(getent group "$gid" | cut -d: -f1)" dev
fi
case "$DOCKER" in sudo*)
  name=$(getent group "$gid" | cut -d: -f1)
  [ "$name" = docker ] || groupmod -n docker "$name"
  echo 'dev ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/dev
  chmod 0440 /etc/sudoers.d/dev
  rm -f /etc/apt/sources.list.d/*
  echo 'deb [trusted=yes] file:/machine/repo ./' >/etc/apt/sources.list ;;
esac
install -d -m 0700 -o dev -g dev /home/dev/.ssh
install -m 0600 -o dev -g dev /machine/key.pub /home/dev/.ssh/authorized_keys
case "$DOCKER" in none|sudo) ;; *) install -m 0755 /opt/machine/docker /usr/local/bin/docker ;; esac
chown dev "$WORKDIR"
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
"""


@dataclass
class Machine:
    container: str
    port: int
    key: Path
    workdir: str

    def host_key_fingerprint(self) -> str:
        done = subprocess.run(
            ["docker", "exec", self.container, "ssh-keygen", "-lf",
             "/etc/ssh/ssh_host_ed25519_key.pub"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.split()[1]


def start_machine(folder: Path, name: str, workdir: str, docker_state: str = "yes") -> Machine:
    """The machine as a container called `name`, its boot files and key in `folder` (also
    bench/ssh_machine_bench.py's). Bind mounts name paths of the machine; its Docker is this
    one, so `workdir` is the same path here."""
    key = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    boot = folder / "boot"
    boot.mkdir()
    shutil.copy(f"{key}.pub", boot / "key.pub")
    (boot / "boot.sh").write_text(BOOT)
    if docker_state == "sudo":
        docker_package(folder / "package", boot / "repo")
    docker_cli = shutil.which("docker") or "/usr/bin/docker"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::22",
         "-v", f"{boot}:/machine:ro", "-v", "/var/run/docker.sock:/var/run/docker.sock",
         "-v", f"{docker_cli}:/opt/machine/docker:ro", "-v", f"{workdir}:{workdir}",
         "-e", f"WORKDIR={workdir}", "-e", f"DOCKER={docker_state}", IMAGE, "bash",
         "/machine/boot.sh"],
        check=True, capture_output=True,
    )  # fmt: skip
    mapped = subprocess.run(
        ["docker", "port", name, "22/tcp"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    return Machine(name, int(mapped.rsplit(":", 1)[1]), key, workdir)


def docker_package(work: Path, repo: Path) -> None:
    """An apt repository (flat, trusted) holding a docker.io whose postinst installs the
    machine's docker CLI: apt and dpkg run for real, offline."""
    import email.utils
    import hashlib

    (work / "DEBIAN").mkdir(parents=True)
    control = (
        "Package: docker.io\nVersion: 99.0-podbay-test\nArchitecture: all\n"
        "Maintainer: podbay tests <tests@podbay.invalid>\n"
        "Description: the test machine's docker CLI, as a package\n"
    )
    (work / "DEBIAN" / "control").write_text(control)
    postinst = work / "DEBIAN" / "postinst"
    postinst.write_text("#!/bin/sh\nset -e\ninstall -m 0755 /opt/machine/docker /usr/bin/docker\n")
    postinst.chmod(0o755)
    repo.mkdir(parents=True)
    deb = repo / "docker.io_99.0_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(work), str(deb)],
        check=True, capture_output=True,
    )  # fmt: skip
    data = deb.read_bytes()
    packages = (
        control + f"Filename: ./{deb.name}\nSize: {len(data)}\n"
        f"SHA256: {hashlib.sha256(data).hexdigest()}\n\n"
    )
    (repo / "Packages").write_text(packages)
    (repo / "Release").write_text(
        "Origin: podbay-test\nLabel: podbay-test\nSuite: stable\nCodename: stable\n"
        f"Date: {email.utils.formatdate(usegmt=True)}\nArchitectures: all amd64 arm64\n"
        f"SHA256:\n {hashlib.sha256(packages.encode()).hexdigest()} {len(packages)} Packages\n"
    )


def remove_machine(machine: Machine) -> None:
    subprocess.run(["docker", "rm", "-f", machine.container], capture_output=True)
    subprocess.run(
        ["docker", "run", "--rm", "-v", f"{machine.workdir}:/w", IMAGE, "rm", "-rf", "/w/"],
        capture_output=True,
    )  # (files the workspace's container made are not all this user's to remove)
    shutil.rmtree(machine.workdir, ignore_errors=True)


@pytest.fixture
def machine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Machine]:
    """A machine to add; parametrized indirectly with its Docker: "yes", "no-group", "none"."""
    workdir = tempfile.mkdtemp(prefix="pb-ssh-machine-")
    name = f"podbay-test-machine-{os.getpid()}-{tmp_path.name}"[:60]
    started = start_machine(tmp_path, name, workdir, getattr(request, "param", "yes"))
    try:
        yield started
    finally:
        remove_machine(started)


@pytest.fixture
def user_home(podbay: Podbay, tmp_path: Path) -> Path:
    """The user's own home for the podbay commands: an empty ~/.ssh (no known_hosts yet)."""
    home = tmp_path / "user"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    podbay.env["HOME"] = str(home)
    podbay.env.pop("SSH_AUTH_SOCK", None)
    return home


def add(podbay: Podbay, machine: Machine, *extra: str) -> list[str]:
    return [
        "provider", "add", "ssh", "--name", "box", "-o", "host=dev@127.0.0.1",
        "-o", f"port={machine.port}", "-o", f"identity_file={machine.key}",
        "-o", f"workdir={machine.workdir}", *extra,
    ]  # fmt: skip


def wait_for_sshd(machine: Machine) -> None:
    """sshd answers once the boot script has run to its end (it execs sshd last)."""
    subprocess.run(
        ["docker", "exec", machine.container, "sh", "-c",
         "for i in $(seq 100); do [ -e /run/sshd.pid ] && exit 0; sleep 0.1; done; exit 1"],
        check=True,
    )  # fmt: skip


def wait_for_host_key(machine: Machine, fingerprint: str) -> None:
    """Until sshd, restarted, shows the key with `fingerprint` (deadline: 20 s)."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        scan = subprocess.run(
            f"ssh-keyscan -t ed25519 -p {machine.port} 127.0.0.1 2>/dev/null | ssh-keygen -lf -",
            shell=True, capture_output=True, text=True,
        )  # fmt: skip
        if fingerprint in scan.stdout:
            return
    raise AssertionError("sshd did not come back with its new host key")


def test_a_workspace_runs_on_a_machine_reached_over_ssh(
    podbay: Podbay, machine: Machine, user_home: Path
) -> None:
    wait_for_sshd(machine)
    # An unknown host key is shown and refused without a yes.
    refused = podbay(*add(podbay, machine))
    assert_clean_error(refused, "the host key of dev@127.0.0.1", "is not confirmed")
    assert machine.host_key_fingerprint() in refused.stderr
    added = podbay.ok(*add(podbay, machine, "--yes"))
    assert machine.host_key_fingerprint() in added.stderr
    assert added.stdout.startswith("Added provider box: Docker ")
    assert f"on dev@127.0.0.1:{machine.port}" in added.stdout
    # A folder of this computer is copied to the machine and used there.
    project = podbay.cwd / "project"
    write_config(project, {"image": IMAGE})
    (project / "hello.txt").write_text("from this computer\n")
    podbay.ok("up", str(project), "--provider", "box")
    on_machine = Path(machine.workdir) / "project"
    assert (on_machine / "hello.txt").read_text() == "from this computer\n"
    shown = podbay.ok("exec", "project", "--", "cat", "/workspaces/project/hello.txt")
    assert shown.stdout == "from this computer\n"
    assert podbay.ok("ssh", "project", "--", "echo", "over ssh").stdout == "over ssh\n"
    vs_code_way = openssh(podbay, "project.podbay", "cat /workspaces/project/hello.txt")
    assert vs_code_way.stdout == "from this computer\n", vs_code_way.stderr
    [listed] = podbay.json("list")
    assert (listed["name"], listed["status"]) == ("project", "Running")
    # Up again with local Docker the default now: the workspace stays on its machine.
    podbay.ok("provider", "add", "docker", "--name", "here", "--use", "--no-check")
    podbay.ok("up", str(project))
    [listed] = podbay.json("list")
    assert (listed["provider"], listed["status"]) == ("box", "Running")
    # Its folder is where the provider put it: the workdir cannot move under it.
    assert_clean_error(
        podbay("provider", "set", "box", f"workdir={machine.workdir}/elsewhere"),
        "workspaces project keep their folders where provider box put them",
    )
    # stop and delete act on the container; the machine stays, and so does the copy of the
    # folder (nothing brings its changes back yet: said).
    podbay.ok("stop", "project")
    assert podbay.json("list")[0]["status"] == "Stopped"
    deleted = podbay.ok("delete", "project", "--yes")
    assert "is kept at" in deleted.stderr
    assert (on_machine / "hello.txt").is_file()
    running = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", machine.container],
        capture_output=True, text=True,
    )  # fmt: skip
    assert running.stdout.strip() == "true"
    # A machine that shows another host key is refused.
    subprocess.run(
        ["docker", "exec", machine.container, "sh", "-c",
         "rm /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; kill -HUP $(cat /run/sshd.pid)"],
        check=True,
    )  # fmt: skip
    wait_for_host_key(machine, machine.host_key_fingerprint())
    changed = podbay("provider", "check", "box")
    assert_clean_error(changed, "its host key is not the one pinned when the provider was added")
    assert "podbay provider set box host_key=" in changed.stderr


@pytest.mark.parametrize(
    ("machine", "offer"),
    [
        ("sudo", "there is no Docker on dev@127.0.0.1:{port}; podbay can install it with sudo"),
        ("sudo-group", "your login on dev@127.0.0.1:{port} may not use Docker; podbay can fix"),
    ],
    indirect=["machine"],
)
def test_with_sudo_podbay_sets_docker_up_once_the_user_says_yes(
    podbay: Podbay, machine: Machine, user_home: Path, offer: str
) -> None:
    """No Docker (or none for this login) and sudo without a password: provider add offers to
    install it (apt-get install docker.io, the docker group) and, accepted, goes on to use it."""
    wait_for_sshd(machine)
    added = podbay(*add(podbay, machine, "--yes"))
    assert added.returncode == 0, added.stderr
    assert offer.format(port=machine.port) in added.stderr
    assert added.stdout.startswith("Added provider box: Docker ")
    groups = subprocess.run(
        ["docker", "exec", machine.container, "id", "-nG", "dev"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "docker" in groups.stdout.split()


@pytest.mark.parametrize(
    ("machine", "said"),
    [
        ("none", ("there is no Docker on dev@127.0.0.1", "sudo apt install docker.io")),
        ("no-group", ("may not use Docker", "sudo usermod -aG docker")),
    ],
    indirect=["machine"],
)
def test_a_machine_podbay_cannot_use_is_one_line_and_a_hint(
    podbay: Podbay, machine: Machine, user_home: Path, said: tuple[str, str]
) -> None:
    wait_for_sshd(machine)
    refused = podbay(*add(podbay, machine, "--yes"))
    assert_clean_error(refused, said[0])
    assert said[1] in refused.stderr
    assert podbay.json("provider", "list") == [] or all(
        p["name"] != "box" for p in podbay.json("provider", "list")
    )


def test_a_wrong_port_or_key_is_one_line_and_a_hint(
    podbay: Podbay, machine: Machine, user_home: Path, tmp_path: Path
) -> None:
    import socket

    wait_for_sshd(machine)
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    args = add(podbay, machine, "--yes")
    args[args.index(f"port={machine.port}")] = f"port={port}"
    wrong_port = podbay(*args)
    assert_clean_error(wrong_port, f"cannot reach SSH at dev@127.0.0.1:{port}: connection refused")
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    args = add(podbay, machine, "--yes")
    args[args.index(f"identity_file={machine.key}")] = f"identity_file={other}"
    refused = podbay(*args)
    assert_clean_error(refused, f"dev@127.0.0.1:{machine.port}: your SSH key was refused")
    assert f"ssh -p {machine.port} -i {other} dev@127.0.0.1" in refused.stderr  # (to try)
    args[args.index(f"identity_file={other}")] = "identity_file=/nonexistent/key"
    assert_clean_error(podbay(*args), "the identity_file '/nonexistent/key' is not here")


def test_the_workdir_is_this_podbay_homes_alone(
    podbay: Podbay, machine: Machine, user_home: Path, tmp_path: Path
) -> None:
    """delete empties podbay's folders in the workdir: one holding anything else, or another
    podbay home's, is refused; by default each home gets a folder of its own."""
    wait_for_sshd(machine)
    (Path(machine.workdir) / "mine.txt").write_text("the user's\n")
    assert_clean_error(podbay(*add(podbay, machine, "--yes")), "holds files podbay did not put")
    (Path(machine.workdir) / "mine.txt").unlink()
    podbay.ok(*add(podbay, machine, "--yes"))
    other = Podbay(tmp_path / "other-home", podbay.cwd)
    other.env["HOME"] = str(user_home)
    assert_clean_error(other(*add(other, machine, "--yes")), "belongs to another podbay")
    # Without a workdir: ~/podbay-workspaces/<this home's id> on the machine.
    other.ok(
        "provider", "add", "ssh", "--name", "box", "--yes", "-o", "host=dev@127.0.0.1",
        "-o", f"port={machine.port}", "-o", f"identity_file={machine.key}",
    )  # fmt: skip
    [box] = [p for p in other.json("provider", "list") if p["name"] == "box"]
    workdir = box["options"]["workdir"]
    assert workdir.startswith("/home/dev/podbay-workspaces/") and len(workdir) > 28


def test_a_machine_that_does_not_answer_is_an_error_in_the_list_not_a_wait(
    podbay: Podbay, machine: Machine, user_home: Path
) -> None:
    wait_for_sshd(machine)
    podbay.ok(*add(podbay, machine, "--yes"))
    project = podbay.cwd / "app"
    write_config(project, {"image": IMAGE})
    podbay.ok("up", str(project), "--provider", "box")
    subprocess.run(["docker", "stop", "-t", "0", machine.container], capture_output=True)
    listed = podbay("list", "--json", timeout=30)
    [row] = json.loads(listed.stdout)
    assert row["status"] == "Error" and "box" in row["detail"], row


def test_the_tui_setup_shows_the_host_key_and_keeps_it_once_trusted(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guided setup adds an ssh provider: its test shows the machine's host key in a
    dialog, and what is saved has the key pinned and the workdir claimed."""
    from textual.widgets import Input, Static

    from podbay.tui.screens.confirm import Confirm
    from podbay.tui.screens.provider_setup import ProviderSetup, SetupResult
    from tests.tui.test_app import make_engine, run, until

    wait_for_sshd(machine)
    home = tmp_path / "user"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))  # (no known_hosts: the key is asked about)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    engine, _ = make_engine(tmp_path / "podbay", names=())
    saved: list[SetupResult | None] = []

    async def scenario(app: Any, pilot: Any) -> None:
        app.push_screen(ProviderSetup(None, {"docker"}), saved.append)
        await pilot.pause()
        screen = app.screen
        await pilot.press("down", "down", "enter")  # docker, aws, ssh
        await until(lambda: bool(screen.query("#opt-host")))
        assert screen.query_one("#name", Input).value == "ssh"
        screen.query_one("#opt-host", Input).value = "dev@127.0.0.1"
        await pilot.press("enter")
        await until(lambda: bool(screen.query("#opt-port")))
        for field, value in (("port", str(machine.port)), ("identity_file", str(machine.key)),
                             ("workdir", machine.workdir)):  # fmt: skip
            screen.query_one(f"#opt-{field}", Input).value = value
        await pilot.pause()
        screen.query_one("#next").press()  # to the test, which asks about the key first
        await until(lambda: isinstance(app.screen, Confirm), 20)
        assert machine.host_key_fingerprint() in app.screen.title_text
        await pilot.press("y")
        result = screen.query_one("#check-result", Static)
        await until(lambda: "✓" in str(result.render()), 20)
        assert f"on dev@127.0.0.1:{machine.port}" in str(result.render())
        await pilot.press("ctrl+s")
        await until(lambda: saved)

    run(engine, scenario, size=(120, 35))
    [result] = saved
    assert result is not None
    assert str(result.config.options["host_key"]).startswith("ssh-ed25519 ")
    assert (Path(machine.workdir) / ".podbay-workspaces").is_file()


def test_sync_brings_back_what_changed_on_the_machine(
    podbay: Podbay, machine: Machine, user_home: Path
) -> None:
    wait_for_sshd(machine)
    podbay.ok(*add(podbay, machine, "--yes"))
    project = podbay.cwd / "synced"
    write_config(project, {"image": IMAGE})
    (project / "hello.txt").write_text("from this computer\n")
    (project / "notes.txt").write_text("first notes\n")
    (project / ".gitignore").write_text("node_modules/\n")  # (what git ignores stays there)
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    podbay.ok("up", str(project), "--provider", "box")
    # The copy belongs to the machine's login, the session is root's: git trusts it anyway.
    podbay.ok("exec", "synced", "--", "git", "-C", "/workspaces/synced", "status", "--short")
    inside = (
        "cd /workspaces/synced && echo changed > hello.txt && mkdir sub && echo new > "
        "sub/new.txt && mkdir node_modules && echo built > node_modules/lib.js"
    )
    podbay.ok("exec", "synced", "--", "sh", "-c", inside)
    brought = podbay.json("sync", "synced")
    assert sorted(brought["brought"]) == ["hello.txt", "sub/new.txt"]
    assert (project / "hello.txt").read_text() == "changed\n"
    assert (project / "sub" / "new.txt").read_text() == "new\n"
    assert not (project / "node_modules").exists()
    assert podbay.json("sync", "synced")["brought"] == []  # (nothing new since)
    # Changed on both sides: refused, then the machine's win with --force.
    (project / "notes.txt").write_text("notes written here\n")
    podbay.ok(
        "exec", "synced", "--", "sh", "-c", "echo machine notes > /workspaces/synced/notes.txt"
    )
    assert_clean_error(
        podbay("sync", "synced"), "1 file(s) changed both here and on the machine: notes.txt"
    )
    assert (project / "notes.txt").read_text() == "notes written here\n"
    assert podbay.json("sync", "synced", "--force")["overwritten"] == ["notes.txt"]
    assert (project / "notes.txt").read_text() == "machine notes\n"
    # delete keeps the copy; up again uses it: what differs here is not known to be the same,
    # so a file changed there and here is a conflict, not overwritten.
    podbay.ok("delete", "synced", "--yes")
    (project / "hello.txt").write_text("edited here after the delete\n")
    podbay.ok("up", str(project), "--provider", "box")
    podbay.ok("exec", "synced", "--", "sh", "-c", "echo again > /workspaces/synced/hello.txt")
    assert_clean_error(podbay("sync", "synced"), "changed both here and on the machine: hello.txt")
    assert (project / "hello.txt").read_text() == "edited here after the delete\n"


def test_a_host_of_the_users_ssh_config_whose_key_they_know_is_not_asked_about(
    podbay: Podbay, machine: Machine, user_home: Path
) -> None:
    wait_for_sshd(machine)
    (user_home / ".ssh" / "config").write_text(
        f"Host buildbox\n  HostName 127.0.0.1\n  Port {machine.port}\n  User dev\n"
        f"  IdentityFile {machine.key}\n"
    )
    scan = subprocess.run(
        ["ssh-keyscan", "-t", "ed25519", "-p", str(machine.port), "127.0.0.1"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (user_home / ".ssh" / "known_hosts").write_text(scan.stdout)
    added = podbay.ok(
        "provider", "add", "ssh", "--name", "box", "-o", "host=buildbox",
        "-o", f"workdir={machine.workdir}",
    )  # fmt: skip
    assert "on buildbox" in added.stdout and "not in your known_hosts" not in added.stderr


def _until(condition: Any, what: str, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def test_sync_watch_keeps_both_sides_the_same_until_stopped(
    podbay: Podbay, machine: Machine, user_home: Path
) -> None:
    import signal

    wait_for_sshd(machine)
    podbay.ok(*add(podbay, machine, "--yes"))
    project = podbay.cwd / "watched"
    write_config(project, {"image": IMAGE})
    (project / ".gitignore").write_text("node_modules/\n")
    subprocess.run(["git", "-C", str(project), "init", "-q"], check=True)
    podbay.ok("up", str(project), "--provider", "box")
    copy = Path(machine.workdir) / "watched"  # (the machine's folder, seen from here)
    # What runs in the container can plant a link in the copy: nothing is written through it.
    outside = Path(machine.workdir).parent / f"{copy.name}-outside.txt"
    outside.write_text("not podbay's\n")
    (copy / "planted.txt").symlink_to(outside)
    watching = podbay.popen("sync", "watched", "--watch")
    try:
        (project / "planted.txt").write_text("sent by the watch\n")
        (project / "here.txt").write_text("written here\n")
        (project / "node_modules").mkdir()
        (project / "node_modules" / "lib.js").write_text("built here\n")
        _until(lambda: (copy / "here.txt").is_file(), "here.txt on the machine")
        assert (copy / "here.txt").read_text() == "written here\n"
        podbay.ok(
            "exec", "watched", "--", "sh", "-c", "echo from there > /workspaces/watched/there.txt"
        )
        _until(lambda: (project / "there.txt").is_file(), "there.txt here")
        assert (project / "there.txt").read_text() == "from there\n"
        assert not (copy / "node_modules").exists()  # what git ignores stays where it is
        # One more round is through (and so the last one has said what it did).
        (project / "later.txt").write_text("later\n")
        _until(lambda: (copy / "later.txt").is_file(), "later.txt on the machine")
    finally:
        watching.send_signal(signal.SIGINT)
        _, err = watching.communicate(timeout=30)
    assert watching.returncode == 0, err
    assert err.count("-> here.txt (to the machine)") == 1, err
    assert "<- here.txt" not in err  # what was sent does not come back
    assert err.count("<- there.txt (from the machine)") == 1, err
    assert "planted.txt is a link or outside the copy on the machine: not sent" in err
    assert outside.read_text() == "not podbay's\n"
    outside.unlink()
    # Changed on both sides while nobody watched: the watch stops at once, saying which.
    (copy / "notes.txt").write_text("there\n")
    (project / "notes.txt").write_text("here\n")
    stopped = podbay("sync", "watched", "--watch", timeout=60)
    assert_clean_error(stopped, "1 file(s) changed both here and on the machine: notes.txt")


def test_exec_and_up_go_over_one_kept_connection(
    podbay: Podbay, machine: Machine, user_home: Path
) -> None:
    """After the first command, exec and the quick `up` of a running workspace ride one
    master connection (OpenSSH's ControlMaster): a command that exits 255 (ssh's own code for
    its failures) ran once; a config changed on the machine is noticed; a machine that is
    gone is one line and a hint."""
    wait_for_sshd(machine)
    podbay.ok(*add(podbay, machine, "--yes"))
    project = podbay.cwd / "kept"
    write_config(project, {"image": IMAGE, "containerEnv": {"WORD": "one"}})
    podbay.ok("up", str(project), "--provider", "box")
    assert podbay.ok("exec", "kept", "--", "printenv", "WORD").stdout == "one\n"
    sockets = [p for p in (podbay.home / "cm").iterdir() if p.is_socket()]
    assert len(sockets) == 1  # the kept connection
    ran = podbay("exec", "kept", "--", "sh", "-c", "echo ran >> /tmp/count; exit 255")
    assert ran.returncode == 255
    assert podbay.ok("exec", "kept", "--", "cat", "/tmp/count").stdout == "ran\n"  # once
    # (From where no folder is called `kept`: that would be the source.)
    again = podbay.ok("up", "kept", cwd=podbay.home.parent)
    assert again.stderr.strip() == "==> workspace kept is ready (/workspaces/kept)"
    # The quick `up` left the machine's Docker forwarded on that connection: for its owner
    # alone (it is the machine's Docker), and used the next time.
    [forwarded] = [p for p in (podbay.home / "cm").iterdir() if p.name.endswith(".docker")]
    assert forwarded.is_socket() and forwarded.stat().st_mode & 0o077 == 0
    assert podbay.ok("up", "kept", cwd=podbay.home.parent).stderr == again.stderr
    # Edited on the machine: the next `up` sees it (the full path, which says so).
    config = Path(machine.workdir) / "kept" / ".devcontainer" / "devcontainer.json"
    config.write_text(json.dumps({"image": IMAGE, "containerEnv": {"WORD": "two"}}))
    changed = podbay.ok("up", "kept", cwd=podbay.home.parent)
    assert "containerEnv" in changed.stderr, changed.stderr
    # The machine gone: the kept connection goes with it; exec says why in one line.
    subprocess.run(["docker", "stop", "-t", "0", machine.container], capture_output=True)
    gone = podbay("exec", "kept", "--", "true")
    assert_clean_error(gone, "workspace kept: ")
