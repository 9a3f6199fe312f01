"""The workspaces list: a DataTable whose Enter opens a shell in the highlighted workspace."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.actions import BY_ID


class WorkspaceTable(DataTable[str]):
    shell = BY_ID["shell"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(shell.key, f"app.{shell.id}", shell.description, key_display=shell.key_display),
    ]
