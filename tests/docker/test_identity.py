"""Your identity in the workspace: git's user.name and user.email from this computer."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import IMAGE, Podbay, write_config


def identity(tmp_path: Path, name: str, email: str) -> dict[str, str]:
    """An environment whose global git config (this computer's) holds NAME and EMAIL."""
    config = tmp_path / "gitconfig"
    for key, value in (("user.name", name), ("user.email", email)):
        subprocess.run(["git", "config", "--file", str(config), key, value], check=True)
    return {"GIT_CONFIG_GLOBAL": str(config)}


def test_git_commits_as_the_user_from_the_first_hook(podbay: Podbay, tmp_path: Path) -> None:
    env = identity(tmp_path, "Ada Lovelace", "ada@example.org")
    write_config(
        podbay.cwd / "who",
        {"image": IMAGE, "postCreateCommand": "git config --global user.name > /tmp/hook-saw"},
    )
    up = podbay.ok("up", "who", env=env)
    assert "git: user.name and user.email from this computer's git config" in up.stderr
    assert podbay.ok("exec", "who", "--", "cat", "/tmp/hook-saw").stdout == "Ada Lovelace\n"
    commit = podbay.ok(
        "exec", "who", "--", "sh", "-c",
        "cd /tmp && git init -q r && cd r && git commit -q --allow-empty -m x"
        " && git log -1 --format='%an <%ae>'",
    )  # fmt: skip
    assert commit.stdout == "Ada Lovelace <ada@example.org>\n"
    # Once per container: a later `up` does not set it again (the user may have changed it).
    podbay.ok("exec", "who", "--", "git", "config", "--global", "user.name", "Ada L.")
    podbay.ok("stop", "who")
    podbay.ok("up", "who", env=env)
    assert podbay.ok("exec", "who", "--", "git", "config", "--global", "user.name").stdout == (
        "Ada L.\n"
    )


def test_an_identity_the_image_sets_stays(podbay: Podbay, tmp_path: Path) -> None:
    image = "podbay-test/debian-with-git-name:latest"
    build = tmp_path / "image"
    build.mkdir()
    (build / "Dockerfile").write_text(
        f"FROM {IMAGE}\nRUN git config --global user.name 'Image Builder'\n"
    )
    docker.from_env().images.build(path=str(build), tag=image, rm=True)
    write_config(podbay.cwd / "kept", {"image": image})
    up = podbay.ok("up", "kept", env=identity(tmp_path, "Ada Lovelace", "ada@example.org"))
    assert "git: user.email from this computer's git config" in up.stderr

    def git(key: str) -> str:
        return podbay.ok("exec", "kept", "--", "git", "config", "--global", key).stdout

    assert (git("user.name"), git("user.email")) == ("Image Builder\n", "ada@example.org\n")


def test_a_user_whose_home_cannot_be_written_gets_a_warning_not_a_failure(
    podbay: Podbay, tmp_path: Path
) -> None:
    write_config(podbay.cwd / "nohome", {"image": IMAGE, "remoteUser": "nobody"})
    up = podbay.ok("up", "nohome", env=identity(tmp_path, "Ada Lovelace", "ada@example.org"))
    assert "warning: git: user.name and user.email not set in the container:" in up.stderr
    assert podbay.status("nohome")["status"] == "Running"


SERVER = """
mkdir -p /root/.ssh /run/sshd && chmod 700 /root/.ssh
printf '%s\\n' "$1" > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
git init -q --bare /srv/repo.git && ssh-keygen -A >/dev/null
exec /usr/sbin/sshd -D -e
"""


@pytest.fixture
def git_over_ssh(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A git server over SSH in a container, accepting one key only: (its address, the key)."""
    key = tmp_path / "only-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "only-key.pub").read_text().strip()
    server = docker.from_env().containers.run(
        IMAGE, ["sh", "-c", SERVER, "sh", public], detach=True, labels={"podbay-test": "git"}
    )
    try:
        deadline = time.monotonic() + 60
        while b"Server listening" not in server.logs():  # sshd -e says when it listens
            assert time.monotonic() < deadline, server.logs().decode(errors="replace")
            time.sleep(0.05)
        server.reload()
        address = server.attrs["NetworkSettings"]["IPAddress"]
        yield address, key
    finally:
        server.remove(force=True)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real ssh-agent of this test: its environment (SSH_AUTH_SOCK)."""
    sock = tmp_path / "agent.sock"
    started = subprocess.run(
        ["ssh-agent", "-a", str(sock), "-s"], capture_output=True, text=True, check=True
    )
    pid = started.stdout.split("SSH_AGENT_PID=")[1].split(";")[0]
    try:
        yield {"SSH_AUTH_SOCK": str(sock)}
    finally:
        subprocess.run(["kill", pid], check=False)


def test_git_over_ssh_uses_the_forwarded_agent_and_never_the_key(
    podbay: Podbay, git_over_ssh: tuple[str, Path], agent: dict[str, str]
) -> None:
    address, key = git_over_ssh
    write_config(podbay.cwd / "pushy", {"image": IMAGE})
    podbay.ok("up", "pushy")
    git = "GIT_SSH_COMMAND='ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"

    def push(branch: str) -> str:
        return (
            f"rm -rf /tmp/c && {git} git clone -q root@{address}:/srv/repo.git /tmp/c 2>&1"
            " && cd /tmp/c && git -c user.name=t -c user.email=t@e commit -q --allow-empty -m hi"
            f" && {git} git push -q origin HEAD:{branch} 2>&1 && echo pushed"
        )

    # Without an agent holding the key: the server refuses.
    refused = podbay("ssh", "pushy", "--", push("none"), env={"SSH_AUTH_SOCK": ""})
    assert "Permission denied" in refused.stdout and "pushed" not in refused.stdout
    subprocess.run(["ssh-add", "-q", str(key)], env={**agent}, check=True)
    # podbay ssh forwards it: the push is signed by the agent here.
    assert podbay.ok("ssh", "pushy", "--", push("one"), env=agent).stdout.endswith("pushed\n")
    # The key never reached the container, and the agent's socket went with the session.
    secret = key.read_text().splitlines()[2]
    scan = podbay.ok(
        "exec", "pushy", "--", "sh", "-c",
        f"grep -rlF '{secret}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null;"
        " ls -d /tmp/ssh-* 2>/dev/null; true",
    )  # fmt: skip
    assert scan.stdout == ""


def test_ssh_name_podbay_forwards_the_agent_only_while_a_session_is_open(
    podbay: Podbay, git_over_ssh: tuple[str, Path], agent: dict[str, str]
) -> None:
    """OpenSSH (`ssh NAME.podbay`, what VS Code uses): the agent is forwarded, and its socket
    in the container goes with the connection, one second after the last session."""
    address, key = git_over_ssh
    write_config(podbay.cwd / "viaopenssh", {"image": IMAGE})
    podbay.ok("up", "viaopenssh")
    subprocess.run(["ssh-add", "-q", str(key)], env={**agent}, check=True)
    config = str(podbay.home / "ssh_config")
    git = "GIT_SSH_COMMAND='ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
    push = (
        f"{git} git ls-remote root@{address}:/srv/repo.git >/dev/null 2>&1 && echo reached;"
        " ls -d /tmp/ssh-*/agent.* 2>/dev/null | wc -l"
    )
    env = {**podbay.env, **agent}
    done = subprocess.run(
        ["ssh", "-F", config, "viaopenssh.podbay", push],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == "reached\n1\n", done.stdout + done.stderr
    # The master connection ends once no session is open; the agent's socket goes with it.
    deadline = time.monotonic() + 20
    while subprocess.run(
        ["ssh", "-F", config, "-O", "check", "viaopenssh.podbay"],
        env=env, capture_output=True,
    ).returncode == 0:  # fmt: skip
        assert time.monotonic() < deadline, "the master connection stayed"
        time.sleep(0.1)
    left = podbay.ok("exec", "viaopenssh", "--", "sh", "-c", "ls -d /tmp/ssh-* 2>/dev/null; true")
    assert left.stdout == ""
