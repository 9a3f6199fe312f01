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


def test_an_engine_error_is_one_line_and_a_missing_socket_says_so(tmp_path: Path) -> None:
    """The engine's socket spoken directly (core.docker_api): its refusals and absence read as
    the SDK's did."""
    from podbay.core.errors import DockerError

    path = tmp_path / "docker.sock"
    with pytest.raises(DockerUnreachable) as gone:
        DockerEndpoint(f"unix://{path}").list_containers({"x": None})
    assert gone.value.message == f"cannot reach Docker at unix://{path} (no socket there)"

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)
    body = b'{"message":"the engine is broken\\nsecond line"}'

    def answer() -> None:
        for _ in range(2):
            conn = server.accept()[0]
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    endpoint = DockerEndpoint(f"unix://{path}")
    with pytest.raises(DockerError) as failed:
        endpoint.list_containers({"x": None})
    assert failed.value.message == "listing containers failed: the engine is broken"
    assert endpoint.inspect_image("busybox") is None  # an image it cannot inspect is not here
    thread.join(timeout=10)
    server.close()
