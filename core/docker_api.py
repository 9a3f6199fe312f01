"""The Docker Engine API over a unix socket with the standard library only.

The calls `up`, `list` and `exec` make many times (queries, start, stop, remove, exec streams)
go through this instead of the docker SDK: no import of the SDK, requests and urllib3 (about
50 ms at every start of podbay), nor of http.client (with the email package, about 14 ms), and
less work per call: one connection per request, closed by the engine after its answer.
core.docker decides when: for an engine on a unix socket; tcp:// and ssh:// engines, and the
other calls (pull, volumes, archives), keep the SDK.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

FRAME_HEADER = 8  # stream type, three zero bytes, payload size (big-endian)


class ApiError(Exception):
    """The engine answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Unreachable(Exception):
    """The engine could not be reached, or did not answer in time (str: the reason)."""


def _connect(path: str, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def _reason(exc: OSError) -> Unreachable:
    if isinstance(exc, TimeoutError):
        return Unreachable("Read timed out")
    return Unreachable(f"{type(exc).__name__}: {exc.strerror or exc}")


def _message(status: int, data: bytes) -> ApiError:
    try:
        message = str(json.loads(data).get("message") or "")
    except (ValueError, AttributeError):
        message = data.decode("utf-8", "replace").strip()
    return ApiError(status, message or f"status {status}")


class UnixAPI:
    """One engine's API at a unix socket path; every call opens its own connection (safe from
    any thread)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON answer (None when empty); ApiError for a status of 400 or more."""
        url = urllib.parse.quote(path) + (f"?{urllib.parse.urlencode(query)}" if query else "")
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {url} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        try:
            sock = _connect(self.path, timeout or self.timeout)
        except OSError as exc:
            raise _reason(exc) from None
        try:
            sock.sendall(head.encode() + payload)
            status, headers, data = _read_head(sock)
            while chunk := sock.recv(65536):
                data += chunk
        except OSError as exc:
            raise _reason(exc) from None
        finally:
            sock.close()
        if headers.get("transfer-encoding") == "chunked":
            try:
                data = _dechunk(data)
            except ValueError:
                raise Unreachable("a broken answer (its chunks do not add up)") from None
        if status >= 400:
            raise _message(status, data)
        if not data.strip():
            return None
        if "json" not in headers.get("content-type", ""):
            return data.decode("utf-8", "replace")  # /_ping answers "OK"
        try:
            return json.loads(data)
        except ValueError:
            raise Unreachable("a broken answer (not the JSON it announced)") from None

    def exec_stream(
        self,
        container: str,
        argv: list[str],
        user: str,
        workdir: str | None,
        env: dict[str, str],
        stdin: bool = False,
    ) -> tuple[ExecOutput, str]:
        """Start `argv` in the container: (its output, stdout and stderr as they come, and the
        exec's id, whose `/exec/ID/json` has the exit code once the output has ended). With
        `stdin`, the command's input stays open for ExecOutput.send and end_input."""
        created = self.request(
            "POST",
            f"/containers/{container}/exec",
            body={
                "AttachStdin": stdin,
                "AttachStdout": True,
                "AttachStderr": True,
                "Tty": False,
                "Cmd": argv,
                "User": user,
                "WorkingDir": workdir or "",
                "Env": [f"{key}={value}" for key, value in env.items()],
            },
        )
        exec_id = str(created["Id"])
        body = b'{"Detach": false, "Tty": false}'
        head = (
            f"POST /exec/{urllib.parse.quote(exec_id)}/start HTTP/1.1\r\n"
            "Host: docker\r\nContent-Type: application/json\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            sock = _connect(self.path, self.timeout)
        except OSError as exc:
            raise _reason(exc) from None
        try:
            sock.sendall(head.encode() + body)
            status, _, rest = _read_head(sock)
        except OSError as exc:
            sock.close()
            raise _reason(exc) from None
        if status >= 400:
            sock.close()
            raise _message(status, rest)
        sock.settimeout(None)  # a quiet command is not a hang
        return ExecOutput(sock, rest), exec_id


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, the bytes after them) of an HTTP answer."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the engine closed the connection")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split(" ", 2)[1])
    except (IndexError, ValueError):
        raise ConnectionResetError(f"not an HTTP answer: {status_line[:40]!r}") from None
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    return status, headers, rest


def _dechunk(data: bytes) -> bytes:
    """The body of a chunked transfer encoding."""
    body = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body, data = body + data[:size], data[size + 2 :]
    return body


class ExecOutput:
    """The multiplexed output of an exec (Docker's 8-byte frame headers), as payload chunks;
    close() stops reading, from any thread."""

    def __init__(self, sock: socket.socket, pending: bytes) -> None:
        self._sock = sock
        self._pending = pending
        self._closed = False
        self._ended = False  # the socket closed by the reader (send() must not touch it then)
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        while True:
            if len(self._pending) >= FRAME_HEADER:
                size = int.from_bytes(self._pending[4:FRAME_HEADER], "big")
                end = FRAME_HEADER + size
                if len(self._pending) >= end:
                    payload, self._pending = self._pending[FRAME_HEADER:end], self._pending[end:]
                    if payload:
                        return payload
                    continue
            chunk = self._recv()
            if not chunk:
                with self._lock:  # here, by the reading thread (see close), never mid-send
                    self._ended = True
                    self._sock.close()
                raise StopIteration
            self._pending += chunk

    def _recv(self) -> bytes:
        if self._closed:
            return b""
        try:
            return self._sock.recv(65536)
        except OSError:
            return b""

    def send(self, data: bytes) -> None:
        """Write to the command's input (an exec started with stdin), from any thread; nothing
        once the output has ended."""
        with self._lock:
            if not self._ended:
                self._sock.sendall(data)

    def end_input(self) -> None:
        """End the command's input (the engine closes its stdin); the output keeps coming."""
        with self._lock, contextlib.suppress(OSError):
            if not self._ended:
                self._sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Stop reading: a reader blocked in recv() wakes with nothing and closes the socket
        itself (closing it here could hand its number to another connection mid-recv)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
