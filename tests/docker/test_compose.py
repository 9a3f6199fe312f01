"""Docker Compose configs with the real Docker Compose v2 (make images puts it in
/opt/podbay-test/cli-plugins; tests hand it to docker through DOCKER_CONFIG)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BUSYBOX, IMAGE, Podbay, write_config
from tests.docker.conftest import _missing

PLUGIN = Path("/opt/podbay-test/cli-plugins/docker-compose")

COMPOSE = f"""\
services:
  app:
    build:
      context: .
      dockerfile: Dockerfile
    volumes:
      - ..:/workspaces/proj
    environment:
      FROM_COMPOSE: "yes"
  db:
    image: {BUSYBOX}
    command: ["sh", "-c", "sleep 100000"]
"""


@pytest.fixture
def compose_env(tmp_path: Path) -> dict[str, str]:
    if not PLUGIN.exists():
        _missing("Docker Compose v2 is not installed for the tests (run: make images)")
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-compose").symlink_to(PLUGIN)
    return {"DOCKER_CONFIG": str(config)}


def compose_project(podbay: Podbay) -> Path:
    project = podbay.cwd / "proj"
    dc = project / ".devcontainer"
    (dc / "hello").mkdir(parents=True)
    (dc / "compose.yml").write_text(COMPOSE)
    (dc / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo built > /built\n")
    (dc / "hello" / "devcontainer-feature.json").write_text(json.dumps({"id": "hello"}))
    (dc / "hello" / "install.sh").write_text("#!/bin/sh\necho hello > /hello\n")
    write_config(
        project,
        {
            "dockerComposeFile": "compose.yml",
            "service": "app",
            "workspaceFolder": "/workspaces/proj",
            "features": {"./hello": {}},
            "overrideCommand": True,
            "containerEnv": {"PRICE": "$5"},
            "postCreateCommand": "getent hosts db > /tmp/db-seen",
        },
    )
    return project


def states(project: str) -> dict[str, str]:
    """Service -> container state, for the containers of a compose project."""
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
         "--format", "{{.Label \"com.docker.compose.service\"}} {{.State}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(line.split() for line in out.splitlines())


def networks(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    return subprocess.run(
        ["docker", "network", "ls", "-q", "--filter", label],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip


def test_compose_workspace_with_a_built_service_features_and_a_sidecar(
    podbay: Podbay, compose_env: dict[str, str]
) -> None:
    project = compose_project(podbay)
    (project / "mine.txt").write_text("source\n")
    up = podbay.ok("up", "proj", env=compose_env)
    assert "building the image of service app" in up.stderr
    assert "installing features: hello" in up.stderr
    script = "cat /built /hello mine.txt; echo $FROM_COMPOSE $PRICE; pwd; cat /tmp/db-seen | wc -l"
    inside = podbay.ok("exec", "proj", "--", "sh", "-c", script, env=compose_env).stdout.split()
    # The service's own build and environment, the feature, containerEnv with a '$' as
    # written, the source mounted by the compose file, the other service reachable by name.
    assert inside == ["built", "hello", "source", "yes", "$5", "/workspaces/proj", "1"]
    name = podbay.status("proj")["containerName"]  # also the compose project's name
    assert states(name) == {"app": "running", "db": "running"}

    podbay.ok("stop", "proj", env=compose_env)
    assert states(name) == {"app": "exited", "db": "exited"}
    again = podbay.ok("up", "proj", env=compose_env)
    assert "starting service container" in again.stderr
    assert states(name) == {"app": "running", "db": "running"}

    podbay.ok("delete", "proj", "--yes", env=compose_env)
    assert states(name) == {} and networks(name) == []
    assert (project / "mine.txt").exists()


def test_without_compose_v2_the_error_says_what_to_install(podbay: Podbay, tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "empty-docker-config")}
    if (
        subprocess.run(["docker", "compose", "version"], env=env, capture_output=True).returncode
        == 0
    ):
        pytest.skip("this machine has Docker Compose v2 installed system-wide")
    compose_project(podbay)
    failed = podbay("up", "proj", env=env)
    assert failed.returncode != 0
    assert "`docker compose` (v2) is not installed" in failed.stderr
    assert "Compose v2 plugin" in failed.stderr and "Traceback" not in failed.stderr
