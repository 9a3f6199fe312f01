"""PodbayApp's base: the Logs tab, which follows a workspace's log file (core/oplog.py) or
its container's output, with follow, wrap, full screen and search."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on
from textual.app import App
from textual.widget import Widget
from textual.widgets import Input, Static, TabbedContent

from podbay.core import oplog, paths
from podbay.core.errors import PodbayError
from podbay.tui.messages import ContainerOutput
from podbay.tui.widgets.log_view import FileTail, LogView

if TYPE_CHECKING:
    from podbay.core.engine import Engine

LOG_LINES = 5000
TAIL_SECONDS = 0.25  # how often the shown log file is checked for new lines


class LogActions(App[int]):
    """The Logs tab's state and keys; PodbayApp sets `engine` and says which workspace is
    selected."""

    engine: Engine
    # What the Logs tab shows: (workspace, "log" or "container"), and the file it follows.
    _log_shown: tuple[str, str] | None = None
    _log_mode = "log"
    _log_tail: FileTail | None = None

    def selected_name(self) -> str | None:
        raise NotImplementedError

    def _focus_now(self, widget: Widget) -> None:
        """Focus at once (Widget.focus waits its turn behind keys already typed)."""
        self.screen.set_focus(widget)

    # the Logs tab ---------------------------------------------------------------------------

    def _show_log(self, name: str) -> None:
        """Point the Logs tab at the workspace's log file or container output (once per change)."""
        wanted = (name, self._log_mode)
        if self._log_shown == wanted:
            return
        self._log_shown = wanted
        self.workers.cancel_group(self, "container-output")
        view = self.query_one(LogView)
        view.replace([])
        if self._log_mode == "log":
            self._log_tail = FileTail(
                oplog.path(paths.logs_dir(self.engine.store.root), name), LOG_LINES
            )
            self._tail_log()
        else:
            self._log_tail = None
            self.run_worker(
                self._container_output(name), group="container-output", exit_on_error=False
            )
        self._log_bar()

    def _tail_log(self) -> None:
        views = self.query(LogView)  # (none while the app shuts down: a timer may still fire)
        if self._log_tail is None or not views:
            return
        restarted, lines = self._log_tail.read()
        view = views.first()
        if restarted:
            view.replace(lines)
        else:
            view.add(lines)

    async def _container_output(self, name: str) -> None:
        """`docker logs --follow` of the workspace's container, where it runs (as
        `podbay logs --container`), into the Logs tab until another is shown."""
        from podbay.core.attach import docker_base, record_with_container

        try:
            record = record_with_container(name)
        except PodbayError as exc:
            self.post_message(ContainerOutput(name, [f"No container output: {exc.message}"]))
            return
        argv = [*docker_base(record), "logs", "--follow", "--tail", str(LOG_LINES)]
        process = await asyncio.create_subprocess_exec(
            *argv,
            record["container_id"],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        partial = b""
        try:
            while data := await process.stdout.read(1 << 16):
                *lines, partial = (partial + data).split(b"\n")
                if lines:
                    text = [line.decode("utf-8", errors="replace") for line in lines]
                    self.post_message(ContainerOutput(name, text))
            code = await process.wait()
            ended = "the container stopped" if code == 0 else f"docker logs ended ({code})"
            self.post_message(ContainerOutput(name, [f"--- {ended} ---"]))
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    def on_container_output(self, message: ContainerOutput) -> None:
        if self._log_shown == (message.name, "container"):
            self.query_one(LogView).add(message.lines)

    def on_log_view_changed(self) -> None:
        self._log_bar()

    def _log_bar(self) -> None:
        views = self.query(LogView)
        if not views:
            return
        view = views.first()
        if self._log_shown is None:
            text = "No workspace selected"
        else:
            name, mode = self._log_shown
            what = f"podbay's log of {name}" if mode == "log" else f"{name}'s container output"
            parts = [what, "following" if view.follow else "paused (F follows)"]
            if view.wrap:
                parts.append("wrapped")
            if view.search:
                parts.append(f"{view.shown} lines match {view.search!r}")
            text = " · ".join(parts)
        self.query_one("#log-bar", Static).update(text)

    def _open_logs(self, mode: str) -> None:
        self._log_mode = mode
        self.query_one("#details-pane", TabbedContent).active = "tab-logs"
        self._focus_now(self.query_one(LogView))
        if (name := self.selected_name()) is not None:
            self._show_log(name)

    def action_focus_logs(self) -> None:
        self._open_logs("log")

    def action_container_output(self) -> None:
        self._open_logs("container")

    def action_follow_log(self) -> None:
        view = self.query_one(LogView)
        view.set_follow(not view.follow)

    def action_wrap_log(self) -> None:
        view = self.query_one(LogView)
        view.set_wrap(not view.wrap)

    def action_zoom_log(self) -> None:
        """The Logs tab over the whole screen, and back."""
        self.screen.toggle_class("log-zoom")
        if self.screen.has_class("log-zoom"):
            self._open_logs(self._log_mode)

    @on(Input.Changed, "#log-search")
    def _log_search_changed(self, event: Input.Changed) -> None:
        self.query_one(LogView).set_search(event.value)

    @on(Input.Submitted, "#log-search")
    def _log_search_done(self) -> None:
        self._focus_now(self.query_one(LogView))
