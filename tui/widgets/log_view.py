"""The Logs tab: a workspace's log file followed as it grows (so it shows CLI runs live and
survives restarts), or its container's output; with follow, wrap and search."""

from __future__ import annotations

import os
import re
import textwrap
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from textual.events import MouseScrollUp, Resize
from textual.message import Message
from textual.widgets import Log

# Escape sequences: CSI (colours, cursor moves), OSC (titles, links) and the two-byte ones.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # all but tab


def clean(line: str) -> str:
    """A line as the terminal may show it: escapes removed, a progress bar's carriage returns
    resolved to what it showed last, any other control character shown as �."""
    line = _ESCAPE.sub("", line)
    if "\r" in line:
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", line)


class FileTail:
    """A file's new lines as it grows; the first read gives its last lines (at most `limit`)."""

    START_BYTES = 1 << 20  # where a first read starts, from the end
    READ_BYTES = 4 << 20  # the most one read takes

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit = path, limit
        self._inode: int | None = None
        self._offset = 0
        self._partial = b""

    def read(self) -> tuple[bool, list[str]]:
        """(started over, new lines): started over when the file is new, replaced or cut."""
        try:
            stat = os.stat(self.path)
        except OSError:
            gone = self._inode is not None
            self._inode, self._offset, self._partial = None, 0, b""
            return gone, []
        restart = stat.st_ino != self._inode or stat.st_size < self._offset
        if restart:
            self._inode, self._partial = stat.st_ino, b""
            self._offset = max(0, stat.st_size - self.START_BYTES)
        if stat.st_size == self._offset:
            return restart, []
        skip_first = restart and self._offset > 0  # starts inside a line
        with open(self.path, "rb") as file:
            file.seek(self._offset)
            data = file.read(self.READ_BYTES)
        self._offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        if skip_first and complete:
            complete = complete[1:]
        lines = [line.decode("utf-8", errors="replace") for line in complete[-self.limit :]]
        return restart, lines


class LogView(Log):
    """Lines kept as they came; shown filtered by the search and wrapped to the width.

    Follow keeps the newest line in view (through resizes too); scrolling up pauses it, the
    end key (or F) resumes it.
    """

    class Changed(Message):
        """Follow, wrap, search or the number of lines shown changed: the bar above says so."""

    def __init__(self, limit: int, **kwargs: object) -> None:
        super().__init__(max_lines=limit, auto_scroll=False, **kwargs)  # type: ignore[arg-type]
        self.kept: deque[str] = deque(maxlen=limit)
        self.follow = True
        self.wrap = False
        self.search = ""
        self.shown = 0  # lines that match the search

    def replace(self, lines: Iterable[str]) -> None:
        self.kept.clear()
        self.kept.extend(clean(line) for line in lines)
        self._redraw()

    def add(self, lines: Iterable[str]) -> None:
        new = [clean(line) for line in lines]
        if not new:
            return
        self.kept.extend(new)
        shown = self._shown(new)
        self.shown += len([line for line in new if self._matches(line)])
        self.write_lines(shown, scroll_end=False)
        self._keep_following()
        self.post_message(self.Changed())

    def set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self._keep_following()
            self.post_message(self.Changed())

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._redraw()

    def set_search(self, text: str) -> None:
        self.search = text
        self._redraw()

    def _matches(self, line: str) -> bool:
        return not self.search or self.search.lower() in line.lower()

    def _shown(self, lines: Iterable[str]) -> list[str]:
        shown = [line for line in lines if self._matches(line)]
        width = self.scrollable_content_region.width
        if not self.wrap or width < 10:
            return shown
        wrapped: list[str] = []
        for line in shown:
            wrapped.extend(
                textwrap.wrap(
                    line.expandtabs(), width, drop_whitespace=False, replace_whitespace=False
                )
                or [""]
            )
        return wrapped

    def _redraw(self) -> None:
        self.clear()
        self.shown = len([line for line in self.kept if self._matches(line)])
        self.write_lines(self._shown(self.kept), scroll_end=False)
        self._keep_following()
        self.post_message(self.Changed())

    def _keep_following(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self, event: Resize) -> None:
        if self.wrap:
            self.call_after_refresh(self._redraw)
        else:
            self.call_after_refresh(self._keep_following)

    # Moving up pauses follow; going to the end resumes it.

    def action_scroll_up(self) -> None:
        self.set_follow(False)
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.set_follow(False)
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.set_follow(False)
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        super().action_scroll_end()
        self.set_follow(True)

    def _on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        self.set_follow(False)
        super()._on_mouse_scroll_up(event)
