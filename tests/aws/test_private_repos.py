"""A private repository cloned on the workspace's machine with the user's own credentials, which
stay on this computer: over SSH with a key held only in this computer's ssh-agent, over HTTP
with basic auth answered by this computer's `git credential fill`. The machine is a stand-in
that ran podbay's real user-data; the git server is a container of the project's own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from podbay.core import git_access
from podbay.core import source as sources
from podbay.core.errors import PodbayError
from podbay.core.model import Source
from podbay.core.ssh import machine as machine_ssh
from tests.aws import standin

HERE = Path(__file__).parent / "gitserver"


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This computer's user: a home of the test's own (known_hosts, git config)."""
    home = tmp_path / "user"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)  # (its ~/.gitconfig, then)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An ssh-agent holding a key that exists nowhere else (its file is gone); the public half."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        key = tmp_path / "only-in-agent"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.05)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
        public = (tmp_path / "only-in-agent.pub").read_text().strip()
        key.unlink()
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield public
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def git_server(agent: str, tmp_path: Path) -> Iterator[str]:
    """The server's address on the containers' network; it trusts the agent's key."""
    name = f"{standin.PREFIX}git-{tmp_path.name[-20:].lower()}"
    _docker(
        "run", "-d", "--name", name, "-e", f"PUBKEY={agent}",
        "-v", f"{HERE}:/opt/gitserver:ro", standin.IMAGE, "bash", "/opt/gitserver/serve.sh",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(
            ["docker", "exec", name, "test", "-e", "/srv/ready"], capture_output=True
        ).returncode:
            assert time.monotonic() < deadline, _docker("logs", name)
            time.sleep(0.2)
        ip = _docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).strip()
        key = _docker("exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()
        Path(os.environ["HOME"], ".ssh", "known_hosts").write_text(f"{ip} {key[0]} {key[1]}\n")
        yield ip
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@asynccontextmanager
async def _host(machine: Any) -> AsyncIterator[machine_ssh.SshHost]:
    _, port, keys = machine
    address = machine_ssh.MachineAddress(
        "127.0.0.1", port, "podbay", keys.client_key, keys.machine_host_public()
    )
    host = await machine_ssh.SshHost.open(await machine_ssh.connect(address), address=address)
    try:
        yield host
    finally:
        await host.close()


def _clone(machine: Any, url: str, dest: str) -> str:
    """Clone on the machine; the README as the machine has it."""

    async def scenario() -> str:
        async with _host(machine) as host:
            await sources.materialize(Source(kind="git", value=url), dest, host)
            data = await host.read_bytes(f"{dest}/README")
            left = await host.run(["sh", "-c", "ls -d /tmp/podbay-git.* 2>/dev/null; true"])
            assert left.stdout == ""  # the helper, its socket and known_hosts are gone
            # The agent was the clone's alone: the machine's own connection has none, and
            # sshd's forwarded-agent socket went with the clone's connection.
            agent = await host.run(
                ["sh", "-c", "echo ${SSH_AUTH_SOCK:-none}; ls /tmp/ssh-*/agent.* 2>/dev/null"]
            )
            assert agent.stdout == "none\n"
            return data.decode()

    return asyncio.run(scenario())


def _fails(machine: Any, url: str, dest: str) -> PodbayError:
    with pytest.raises(PodbayError) as failed:
        _clone(machine, url, dest)
    return failed.value


def test_an_ssh_repository_clones_with_a_key_only_this_computers_agent_holds(
    user_home: Path, git_server: str, machine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"git@{git_server}:/srv/git/repo.git"
    assert _clone(machine, url, "/home/podbay/work/one") == "a private repository\n"
    # No key was left on the machine (the agent went with the clone's own connection).
    keys = _docker("exec", machine[0], "ls", "-A", "/home/podbay/.ssh")
    assert keys.split() == ["authorized_keys"]

    # Without the agent the server refuses, and the hint says what to do.
    monkeypatch.delenv("SSH_AUTH_SOCK")
    refused = _fails(machine, url, "/home/podbay/work/two")
    assert "Permission denied" in refused.message or "Could not read" in refused.message
    assert "ssh-agent" in refused.hint

    # A host this computer has never met is not trusted on the machine's word either.
    Path(user_home, ".ssh", "known_hosts").write_text("")
    unknown = _fails(machine, url, "/home/podbay/work/three")
    assert unknown.message == (
        f"the SSH host key of '{git_server}' is not in this computer's known_hosts"
    )
    assert unknown.hint.endswith(f"ssh -T git@{git_server}'")


def test_an_https_repository_clones_with_this_computers_git_credentials(
    user_home: Path, git_server: str, machine: Any
) -> None:
    url = f"http://{git_server}:8000/repo.git"
    # Nothing stored here yet: git on the machine has no way to log in, and says so.
    refused = _fails(machine, url, "/home/podbay/work/one")
    assert "git credential fill" in refused.hint
    # The user signs in here once (their credential helper keeps it); the machine clones.
    subprocess.run(["git", "config", "--global", "credential.helper", "store"], check=True)
    (user_home / ".git-credentials").write_text(f"http://alice:s3cret@{git_server}:8000\n")
    assert _clone(machine, url, "/home/podbay/work/two") == "a private repository\n"
    files = subprocess.run(
        ["docker", "exec", machine[0], "grep", "-rl", "s3cret", "/home/podbay", "/tmp"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert files.stdout == ""  # the password is in no file on the machine


def test_the_relay_answers_only_for_the_repositorys_own_host(user_home: Path) -> None:
    subprocess.run(["git", "config", "--global", "credential.helper", "store"], check=True)
    (user_home / ".git-credentials").write_text(
        "https://alice:s3cret@git.example.com\nhttps://bob:other@elsewhere.example.org\n"
    )
    where = git_access.remote("https://git.example.com/team/app.git")

    def ask(text: str) -> str:
        return asyncio.run(git_access.fill(text.encode(), where)).decode()

    assert ask("protocol=https\nhost=git.example.com\n\n") == "username=alice\npassword=s3cret\n"
    assert ask("protocol=https\nhost=elsewhere.example.org\n\n") == ""
    assert ask("protocol=http\nhost=git.example.com\n\n") == ""  # not over plain HTTP either


@pytest.mark.parametrize(
    ("url", "protocol", "host", "known_as"),
    [
        ("git@github.example:team/app.git", "ssh", "github.example", "github.example"),
        ("ssh://git@git.example:2222/app.git", "ssh", "git.example", "[git.example]:2222"),
        ("ssh://git.example/app.git", "ssh", "git.example", "git.example"),
        ("https://Git.Example/app.git", "https", "git.example", ""),
        ("http://10.0.0.5:8000/app.git", "http", "10.0.0.5:8000", ""),
        ("file:///srv/app.git", "", "", ""),
    ],
)
def test_where_a_url_points(url: str, protocol: str, host: str, known_as: str) -> None:
    found = git_access.remote(url)
    assert (found.protocol, found.host, found.known_as) == (protocol, host, known_as)
    assert git_access.remote("https://alice:tok@git.example/app.git").has_credentials
    # A user name alone (Azure DevOps' clone URLs) still needs the password asked for.
    named = git_access.remote("https://org@dev.example/app.git")
    assert not named.has_credentials and named.user == "org"
