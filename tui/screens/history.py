"""`!`: every notification of this session (errors and results), oldest first, as lazygit's
command log keeps them after the toasts are gone."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

WORDS = {"information": "info", "warning": "warning", "error": "error"}


@dataclass(frozen=True)
class Notice:
    at: float
    severity: str
    title: str
    message: str

    def text(self) -> str:
        """One line: the title, then the message's lines joined."""
        message = " ".join(self.message.split("\n"))
        return f"{self.title}: {message}" if self.title else message


class History(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("exclamation_mark", "dismiss(None)", "Close", show=False),
    ]

    def __init__(self, notices: list[Notice]) -> None:
        super().__init__()
        self.notices = notices

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            count = len(self.notices)
            yield Static(f"Notifications of this session: {count}  (esc: close)", id="question")
            table: DataTable[str | Text] = DataTable(id="history-table", cursor_type="row")
            table.add_columns("TIME", "KIND", "MESSAGE")
            for notice in self.notices:
                when = time.strftime("%H:%M:%S", time.localtime(notice.at))
                kind = WORDS.get(notice.severity, notice.severity)
                table.add_row(when, kind, Text(notice.text()))  # never read as markup
            if not self.notices:
                table.add_row("", "", "Nothing yet: results and errors of operations show here.")
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)  # the newest in view
        table.focus()
