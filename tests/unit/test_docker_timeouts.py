"""An engine that accepts connections and never answers (the reliability probe's H5)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbay.core import docker as docker_module
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import DockerUnreachable


@pytest.fixture
def silent_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_queries_to_a_silent_engine_end_with_a_message(
    silent_socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docker_module, "QUICK_SECONDS", 1)
    endpoint = DockerEndpoint(f"unix://{silent_socket}")
    started = time.monotonic()
    with pytest.raises(DockerUnreachable) as info:
        endpoint.list_containers({"dev.podbay.home": "x"})
    assert "did not answer in time" in info.value.message
    assert time.monotonic() - started < 10
