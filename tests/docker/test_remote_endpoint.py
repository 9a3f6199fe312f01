"""A provider whose engine is reached over TCP, as a remote engine would be."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import IMAGE, Podbay, write_config

DOCKER_SOCKET = "/var/run/docker.sock"


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    # Forward a half-close as a half-close: `docker exec` ends stdin while output still flows.
    try:
        while data := src.recv(65536):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.fixture
def tcp_engine() -> Iterator[tuple[str, list[int]]]:
    """tcp://127.0.0.1:PORT relayed to the local engine's socket; also counts connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(32)
    connections: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            connections.append(1)
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(DOCKER_SOCKET)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}", connections
    stop.set()
    server.close()


def test_workspace_on_a_tcp_engine(podbay: Podbay, tcp_engine: tuple[str, list[int]]) -> None:
    url, connections = tcp_engine
    added = podbay.ok("provider", "add", "docker", "--name", "remote", "-o", f"host={url}")
    assert "Added provider remote: Docker " in added.stdout
    write_config(podbay.cwd / "far", {"image": IMAGE, "postCreateCommand": "echo far > /tmp/x"})
    podbay.ok("up", "far", "--provider", "remote")
    before = len(connections)
    [row] = podbay.json("list")
    assert (row["provider"], row["status"]) == ("remote", "Running")
    assert len(connections) > before  # the status came through the TCP endpoint
    before = len(connections)
    assert podbay.ok("exec", "far", "--", "cat", "/tmp/x").stdout == "far\n"
    assert len(connections) > before  # so did exec (docker -H tcp://...)
    podbay.ok("delete", "far", "--yes")


def test_unreachable_tcp_engine(podbay: Podbay) -> None:
    result = podbay("provider", "add", "docker", "--name", "dead", "-o", "host=tcp://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach Docker at tcp://127.0.0.1:9" in result.stderr
    assert [p["name"] for p in podbay.json("provider", "list")] == ["docker"]
