"""Events of a long operation: sent to the caller and appended to the workspace's log file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from podbay.core import oplog, paths
from podbay.core.model import Event

EventSink = Callable[[Event], None]


def prefixed(label: str | None, line: bytes) -> str:
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    return f"[{label}] {text}" if label else text


class Reporter:
    """Sends events to the caller and appends them to the workspace's log file."""

    def __init__(self, root: Path, workspace: str, sink: EventSink | None) -> None:
        self.workspace = workspace
        self.sink = sink
        self.path = oplog.path(paths.logs_dir(root), workspace)
        self.loop: asyncio.AbstractEventLoop | None = None

    def begin(self, operation: str, origin: str) -> None:
        """The operation's header in the log (not sent: the caller knows what it started)."""
        oplog.append(self.path, [oplog.header(operation, origin)])

    def failed(self, exc: Exception) -> None:
        """Why the operation stopped, as its last lines in the log (not sent: the caller
        reports the error itself)."""
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        hint = getattr(exc, "hint", "")
        oplog.append(self.path, [f"error: {message}", *([f"hint: {hint}"] if hint else [])])

    def bind_loop(self) -> None:
        self.loop = asyncio.get_running_loop()

    def emit(self, event: Event) -> None:
        if event.kind != "progress":
            oplog.append(self.path, [event.line()])
        if self.sink is not None:
            self.sink(event)

    def _threadsafe(self, event: Event) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.emit, event)
        else:
            self.emit(event)

    def step(self, message: str) -> None:
        self.emit(Event(kind="step", message=message, workspace=self.workspace))

    def log(self, message: str) -> None:
        self.emit(Event(kind="log", message=message, workspace=self.workspace))

    def warn(self, message: str) -> None:
        self.emit(Event(kind="warning", message=message, workspace=self.workspace))

    def done(self, message: str) -> None:
        self.emit(Event(kind="done", message=message, workspace=self.workspace))

    def log_threadsafe(self, message: str) -> None:
        self._threadsafe(Event(kind="log", message=message, workspace=self.workspace))

    def warn_threadsafe(self, message: str) -> None:
        self._threadsafe(Event(kind="warning", message=message, workspace=self.workspace))

    def progress_threadsafe(self, message: str, current: int, total: int) -> None:
        self._threadsafe(
            Event(
                kind="progress",
                message=message,
                workspace=self.workspace,
                current=current,
                total=total,
            )
        )
