"""Docker tests need a real engine: skipped with a reason without one, failed in CI."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import BUSYBOX, IMAGE
from tests.registries import start_registry

_checked: dict[str, Any] = {}


def _engine_problem() -> str | None:
    if "problem" not in _checked:
        try:
            import docker

            client = docker.from_env()
            client.ping()
            missing = [i for i in (IMAGE, BUSYBOX) if not client.images.list(name=i)]
            _checked["problem"] = (
                f"test images missing: {', '.join(missing)} (run: make images)" if missing else None
            )
        except Exception as exc:
            _checked["problem"] = f"no Docker engine: {str(exc)[:100]} (run: make docker)"
    problem: str | None = _checked["problem"]
    return problem


def _missing(problem: str) -> None:
    if os.environ.get("PODBAY_REQUIRE_DOCKER") == "1":
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(autouse=True)
def _needs_docker() -> None:
    problem = _engine_problem()
    if problem is not None:
        _missing(problem)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry (Debian's docker-registry) on 127.0.0.1; yields 'host:port'.

    Docker treats loopback registries as insecure by default, so plain HTTP works.
    """
    if shutil.which("docker-registry") is None:
        _missing("docker-registry is not installed (run: make images)")
    with start_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running.address


def fetch(url: str, timeout: float = 20) -> str:
    """GET url, retrying while the server behind it (often in a container) is still starting."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
