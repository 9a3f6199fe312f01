"""Docker tests need a real engine: skipped with a reason without one, failed in CI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUSYBOX, IMAGE

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry (Debian's docker-registry) on 127.0.0.1; yields 'host:port'.

    Docker treats loopback registries as insecure by default, so plain HTTP works.
    """
    binary = shutil.which("docker-registry")
    if binary is None:
        _missing("docker-registry is not installed (run: make images)")
        raise AssertionError  # unreachable
    root: Path = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
