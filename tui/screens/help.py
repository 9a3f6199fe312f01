"""`?`: every action with its key, from the one registry."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from podbay.tui.actions import ACTIONS, key_label


class Help(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("question_mark", "dismiss(None)", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Keys  (ctrl+p: command palette, esc: close)", id="question")
            table: DataTable[str] = DataTable(id="help-table", cursor_type="row")
            table.add_columns("KEY", "ACTION", "NOTE")
            for action in ACTIONS:
                notes = [
                    *(["asks first"] if action.dangerous else []),
                    *(["selected workspace"] if action.needs_workspace else []),
                    *([action.note] if action.note else []),
                ]
                note = ", ".join(notes)
                table.add_row(key_label(action), action.description, note, key=action.id)
            yield table
