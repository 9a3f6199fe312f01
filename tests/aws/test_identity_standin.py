"""Your identity on an AWS workspace (moto in-process, a stand-in instance): from inside its
container, `podbay ssh` pushes to a git server over SSH with this computer's agent and to
one over HTTP with basic auth through this computer's `git credential fill`; the key and
the password are in no file of the container or the machine."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from podbay import providers
from podbay.core import secrets_store
from podbay.core.engine import Engine, UpRequest
from podbay.core.model import ProviderConfig
from podbay.core.store import Store
from tests.aws import standin
from tests.conftest import IMAGE, PODBAY, write_config
from tests.docker.test_git_credentials import (  # noqa: F401  (fixtures)
    PASSWORD,
    computer_with_credentials,
    http_git,
)
from tests.docker.test_identity import agent, git_over_ssh  # noqa: F401  (fixtures)


def test_push_over_ssh_and_https_from_a_workspace_on_its_own_machine(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    http_git: str,  # noqa: F811
    git_over_ssh: tuple[str, Path],  # noqa: F811
    agent: dict[str, str],  # noqa: F811
) -> None:
    home = tmp_path / "home"
    store = Store(home)
    engine = Engine(store, providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    address, key = git_over_ssh
    project = tmp_path / "project"
    write_config(project, {"image": IMAGE})
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "from the machine"], check=True)
    origin = f"http://{http_git}:8080/cgi-bin/git/repo.git"
    subprocess.run([*git, "remote", "add", "origin", origin], check=True)
    subprocess.run([*git, "remote", "add", "byssh", f"root@{address}:/srv/repo.git"], check=True)
    subprocess.run(["ssh-add", "-q", str(key)], env={**agent}, check=True)
    env = {
        "PODBAY_HOME": str(home),
        **agent,
        **computer_with_credentials(tmp_path, http_git),
    }
    try:
        asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
        ssh = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        push = (
            "cd /workspaces/project && export GIT_TERMINAL_PROMPT=0 && "
            "git -c safe.directory='*' push -q origin HEAD:main 2>&1 && "
            f"GIT_SSH_COMMAND='{ssh}' git -c safe.directory='*' push -q byssh HEAD:main 2>&1 "
            "&& echo pushed"
        )
        done = subprocess.run(
            [PODBAY, "ssh", "project", "--", push],
            env={**_base_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stdout.endswith("pushed\n"), done.stdout + done.stderr
        for server, folder in ((_container_at(http_git), "/srv/git/repo.git"),
                               (_container_at(address), "/srv/repo.git")):  # fmt: skip
            log = subprocess.run(
                ["docker", "exec", server, "git", f"--git-dir={folder}", "log", "-1",
                 "--format=%s", "main"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert log.stdout == "from the machine\n"
        # `ssh NAME.podbay` (VS Code's way) is lent them too, through the relay.
        ask = "cd /workspaces/project && GIT_TERMINAL_PROMPT=0 git -c safe.directory='*'"
        via = subprocess.run(
            ["ssh", "-F", str(home / "ssh_config"), "project.podbay", f"{ask} ls-remote origin"],
            env={**_base_env(), **env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert "refs/heads/main" in via.stdout, via.stdout + via.stderr
        # Neither the key nor the password is in a file of the container or the machine.
        secret_line = key.read_text().splitlines()[2]
        ws = store.workspace("project")
        machines = [standin.PREFIX + i for i in standin.standins(store.install_id())]
        assert len(machines) == 1
        for where in [str(ws.container_id), *machines]:
            for needle in (PASSWORD, secret_line):
                scan = subprocess.run(
                    ["docker", "exec", where, "grep", "-rIlF", "--exclude=docker.sock",
                     "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
                     "--exclude-dir=workspaces",
                     "--exclude-dir=var/lib/docker", needle, "/"],
                    capture_output=True, text=True,
                )  # fmt: skip
                assert scan.stdout == "", (where, scan.stdout)
    finally:
        asyncio.run(engine.delete("project"))
        standin.remove_all(store.install_id())


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PODBAY_"))}


def _container_at(address: str) -> str:
    import docker

    for container in docker.from_env().containers.list():
        networks: dict[str, Any] = container.attrs["NetworkSettings"]
        if networks.get("IPAddress") == address:
            return str(container.id)
    raise AssertionError(f"no container at {address}")


def test_secrets_reach_openssh_sessions_and_exec_on_its_own_machine(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A secret of this computer reaches `ssh NAME.podbay` (VS Code's way) and `podbay exec`
    on a workspace's own machine through podbay's relay: on the channel's input, so in no file
    and no process's arguments of the container or the machine."""
    keyring_backend = "keyrings.alt.file.PlaintextKeyring"
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", keyring_backend)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    home = tmp_path / "home"
    store = Store(home)
    engine = Engine(store, providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    value = "multi\nline 's3cret' of the relay test"
    secrets_store.set_value(store, "DB_PASSWORD", "", value)
    secrets_store.set_value(store, "TOKEN", "", "one-line-relay-token")
    project = tmp_path / "project"
    write_config(project, {"image": IMAGE})
    env = {**_base_env(), "PODBAY_HOME": str(home)}
    env.update(PYTHON_KEYRING_BACKEND=keyring_backend, XDG_DATA_HOME=str(tmp_path / "xdg"))
    token = "one-line-relay-token"
    try:
        asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
        ws = store.workspace("project")
        machines = [standin.PREFIX + i for i in standin.standins(store.install_id())]
        assert len(machines) == 1
        with subprocess.Popen(
            ["ssh", "-F", str(home / "ssh_config"), "project.podbay", 'echo "$TOKEN"; cat'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
        ) as held:  # fmt: skip
            assert held.stdout is not None and held.stdout.readline() == token + "\n"
            # While it is connected: in no process's arguments and no file, of the container
            # or the machine.
            for where in [str(ws.container_id), *machines]:
                arguments = subprocess.run(
                    ["docker", "exec", where, "sh", "-c", "cat /proc/[0-9]*/cmdline"],
                    capture_output=True,
                )  # fmt: skip
                assert b"sshd" in arguments.stdout and token.encode() not in arguments.stdout
                scan = subprocess.run(
                    ["docker", "exec", where, "grep", "-rIlF", "--exclude=docker.sock",
                     "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
                     "--exclude-dir=var/lib/docker",
                     token, "/"],
                    capture_output=True, text=True,
                )  # fmt: skip
                assert scan.returncode == 1 and scan.stdout == "", (where, scan.stdout)
            assert held.stdin is not None
            held.stdin.close()
        done = subprocess.run(
            [PODBAY, "exec", "project", "--", "printenv", "DB_PASSWORD"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.stdout == value + "\n", done.stderr
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(engine.delete("project"))
        standin.remove_all(store.install_id())
