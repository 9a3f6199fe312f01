"""A container created by one API request (core/docker_create.py) is the container the docker
CLI makes from the same arguments; arguments it does not know go to the CLI."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbay.core.docker import DockerEndpoint
from podbay.core.docker_create import create_request
from podbay.core.errors import DockerError
from tests.conftest import IMAGE

NETWORK = "podbay-test-create"
VOLUME = "podbay-test-create-vol"


@pytest.fixture
def names() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    if made:
        subprocess.run(["docker", "rm", "-f", "-v", *made], capture_output=True, check=False)
    subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True)
    subprocess.run(["docker", "volume", "rm", VOLUME], capture_output=True)


def _inspect(name: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(out.stdout)[0]
    return found


def _args(name: str, folder: Path, network: str) -> list[str]:
    """Arguments as podbay's plans write them (core/devcontainer/run_args.py), every kind."""
    return [
        "--mount", f"type=volume,src={VOLUME},dst=/.podbay/sshd,readonly,volume-nocopy",
        "--name", name,
        "--label", "dev.podbay.workspace=box",
        "--label", 'devcontainer.metadata=[{"postCreateCommand": "echo a, b"}]',
        "--label", "empty=",
        "--mount", f"type=bind,source={folder},target=/workspaces/box",
        "--mount", 'type=bind,source=/tmp,"target=/mnt/with,comma",ro=false',
        "--mount", "type=tmpfs,target=/scratch",
        "-e", "GREETING=hello there",
        "-e", "MULTI=line one\nline two",
        "-e", "EMPTY=",
        "-u", "root",
        "--network", network,
        "--init",
        "--cap-add", "SYS_PTRACE",
        "--security-opt", "seccomp=unconfined",
        "--security-opt", "label=disable",
        "--security-opt", "no-new-privileges",
        "-e", "GREETING=said twice, the last counts",
        "--entrypoint", "/bin/sh",
        IMAGE, "-c", "echo Container started\nwhile sleep 1000 & wait $!; do :; done", "-",
    ]  # fmt: skip


def _no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if core.docker runs a program: the API path must have been taken."""

    def refuse() -> str:
        raise AssertionError("the docker CLI was run")

    monkeypatch.setattr("podbay.core.docker.docker_cli", refuse)


def test_the_api_request_makes_the_containers_the_cli_makes(
    names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["docker", "network", "create", NETWORK], check=True, capture_output=True)
    by_cli, by_api = (f"podbay-test-create-{who}-{uuid.uuid4().hex[:6]}" for who in "ca")
    names += [by_cli, by_api]
    cli_args = ["docker", "create", *_args(by_cli, tmp_path, NETWORK)]
    subprocess.run(cli_args, check=True, capture_output=True)
    _no_cli(monkeypatch)
    DockerEndpoint().create(_args(by_api, tmp_path, NETWORK))
    cli, api = _inspect(by_cli), _inspect(by_api)
    env = ["EMPTY=", "GREETING=said twice, the last counts", "MULTI=line one\nline two"]
    for made in (cli, api):
        made["Config"].pop("Hostname")
        # The CLI orders the variables its own way; a name given twice keeps its last value.
        assert sorted(made["Config"].pop("Env")) == env
    assert api["Config"] == cli["Config"]
    assert api["HostConfig"] == cli["HostConfig"]

    def where(mount: dict[str, Any]) -> str:
        return str(mount["Destination"])

    assert sorted(api["Mounts"], key=where) == sorted(cli["Mounts"], key=where)


def test_proxies_in_the_docker_config_reach_the_container(
    names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI adds its config's proxies to every container: with proxies set, the CLI makes it."""
    name = f"podbay-test-create-{uuid.uuid4().hex[:6]}"
    names.append(name)
    proxies = {"proxies": {"default": {"httpProxy": "http://127.0.0.1:3128"}}}
    (tmp_path / "config.json").write_text(json.dumps(proxies))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    DockerEndpoint().create(["--name", name, IMAGE])
    assert "HTTP_PROXY=http://127.0.0.1:3128" in _inspect(name)["Config"]["Env"]


def test_arguments_it_does_not_know_go_to_the_cli(names: list[str], tmp_path: Path) -> None:
    name = f"podbay-test-create-{uuid.uuid4().hex[:6]}"
    names.append(name)
    unknown = [
        ["-p", "127.0.0.1:3000:3000"],  # appPort
        ["--gpus", "all"],
        ["-e", "FROM_MY_ENV"],  # the value comes from the CLI's environment
        ["--mount", "type=bind,source=/tmp,target=/x,bind-propagation=rslave"],
        ["--memory", "1g"],
        ["--security-opt", "seccomp=/etc/profile.json"],  # the CLI sends the file's content
        ["--network", "a", "--network", "b"],  # the CLI connects the second itself
        ["--mount", "type=tmpfs,target=/x,ro="],  # the CLI refuses it
    ]
    for extra in unknown:
        assert create_request(["--name", name, *extra, IMAGE]) is None, extra
    # Still made, by the CLI: a runArgs flag and a port.
    DockerEndpoint().create(["--name", name, "--memory", "64m", "-p", "127.0.0.1::80", IMAGE])
    info = _inspect(name)
    assert info["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert "80/tcp" in info["HostConfig"]["PortBindings"]


def test_the_engines_refusal_reads_as_the_clis(
    names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"podbay-test-create-{uuid.uuid4().hex[:6]}"
    names.append(name)
    _no_cli(monkeypatch)
    DockerEndpoint().create(["--name", name, IMAGE])
    with pytest.raises(DockerError) as again:
        DockerEndpoint().create(["--name", name, IMAGE])
    assert again.value.message.startswith("creating the container failed: Conflict.")
    assert "runArgs" in again.value.hint
