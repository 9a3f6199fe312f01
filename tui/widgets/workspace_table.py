"""The workspaces list: a row per workspace, updated in place; Enter opens a shell in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from podbay.core.model import Status, WorkspaceStatus, age_text, cost_cell
from podbay.tui.actions import BY_ID

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
COLUMNS = ("name", "provider", "status", "source", "ide", "age", "cost")
LABELS = ("NAME", "PROVIDER", "STATUS", "SOURCE", "IDE", "AGE", "$/H")
# STATUS fits the longest spinner cell, "⠙ rebuilding".
FIXED_WIDTHS = {"name": 14, "provider": 8, "status": 13, "ide": 9, "age": 4, "cost": 5}

Cells = tuple[str | Text, ...]


class WorkspaceTable(DataTable[str | Text]):
    shell = BY_ID["shell"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(shell.key, f"app.{shell.id}", shell.description, key_display=shell.key_display),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source_width = 20
        self._rendered: dict[str, Cells] = {}  # cells as last shown, by workspace
        self._frame = 0  # of the spinner
        self._styles: dict[str, str] = {}  # the status cell's style, by kind (see _status_styles)
        self.ides: dict[str, str] = {}  # each workspace's own IDE (the app reads them per poll)
        self.default_ide = "vscode"

    def on_mount(self) -> None:
        self._styles = self._status_styles()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _status_styles(self) -> dict[str, str]:
        """The status colours of the app's theme: Running green, Error red, Busy, Incomplete,
        NotFound and a changed config yellow, Stopped dim (also readable with NO_COLOR: dim and
        bold)."""
        colours = self.app.get_css_variables()
        return {
            Status.RUNNING: colours.get("success", "green"),
            Status.STOPPED: "dim",
            Status.ERROR: f"bold {colours.get('error', 'red')}",
            "attention": colours.get("warning", "yellow"),
        }

    def _theme_changed(self, _theme: object) -> None:
        """Colour the status cells for the new theme."""
        self._styles = self._status_styles()
        for name, cells in self._rendered.items():
            status = cells[2]
            if isinstance(status, Text):
                text = Text(status.plain, style=self._style_of(status.plain))
                self.set_cell(name, "status", text)
                self._rendered[name] = (*cells[:2], text, *cells[3:])

    def _style_of(self, status_text: str) -> str:
        """The style of a status cell's text: its status, else (a spinner, a changed config
        marked `*`, Busy, NotFound) attention."""
        style = self._styles.get(status_text)
        return style if style is not None else self._styles.get("attention", "")

    def add_workspace_columns(self, terminal_width: int) -> None:
        # SOURCE takes what is left of the terminal's width (7 columns, 2 cells of padding each).
        fixed = FIXED_WIDTHS
        self.source_width = max(12, terminal_width - sum(fixed.values()) - 2 * 7 - 2)
        for label, key in zip(LABELS, COLUMNS, strict=True):
            self.add_column(label, key=key, width=fixed.get(key, self.source_width))

    def show(
        self, statuses: Iterable[WorkspaceStatus], operations: Mapping[str, str], now: float
    ) -> None:
        """Show these workspaces (and no others) in this order, changing only the cells that
        changed: a poll of 500 rows stays cheap. The cursor stays on its workspace while that is
        shown."""
        selected = self.selected_name()
        wanted = {status.workspace.name: status for status in statuses}
        marks = _room_marks(list(wanted.values()))
        with self.app.batch_update():
            for key in [k.value for k in list(self.rows)]:
                if key is not None and key not in wanted:
                    self.remove_row(key)
                    self._rendered.pop(str(key), None)
            added = False
            present = {k.value for k in self.rows}
            for name, status in wanted.items():
                cells = self._cells(status, operations.get(name), now, marks.get(name, ""))
                before = self._rendered.get(name)
                if name in present and before is not None:
                    for column, value, old in zip(COLUMNS, cells, before, strict=True):
                        if value != old:
                            self.set_cell(name, column, value)
                else:
                    self.add_row(*cells, key=name)
                    added = True
                self._rendered[name] = cells
            order = {name: index for index, name in enumerate(wanted)}
            if added or [row.key.value for row in self.ordered_rows] != list(order):
                # The order given (a room member's name cell is "│ NAME").
                self.sort("name", key=lambda cell: order[str(cell).rpartition(" ")[2]])
            if selected in wanted:
                self.move_cursor(row=self.get_row_index(selected))

    def spin(self, operations: Mapping[str, str]) -> None:
        """Turn the spinner of each shown workspace an operation runs on."""
        busy = [name for name in self._rendered if operations.get(name)]
        if not busy:
            return
        self._frame += 1
        for name in busy:
            text = self._spinning(operations[name])
            self.set_cell(name, "status", text)
            cached = self._rendered[name]
            self._rendered[name] = (*cached[:2], text, *cached[3:])

    def selected_name(self) -> str | None:
        """The workspace under the cursor, if there is any."""
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def select(self, name: str) -> None:
        """Move the cursor to NAME's row and focus the table, if NAME is shown."""
        if name in {k.value for k in self.rows}:
            self.move_cursor(row=self.get_row_index(name))
            self.focus()

    def _spinning(self, operation: str) -> Text:
        text = f"{SPINNER[self._frame % len(SPINNER)]} {operation}"
        return Text(text, style=self._style_of(text))

    def set_cell(self, name: str, column: str, value: str | Text) -> None:
        """update_cell, redrawing only that cell: update_cell repaints the whole table, and a
        spinner turning 8 times a second then wrote 48 KB/s to the terminal (now about 1).
        Uses the DataTable's own storage (Textual is pinned exactly in pyproject.toml)."""
        row, column_key = RowKey(name), ColumnKey(column)
        self._data[row][column_key] = value
        self._update_count += 1  # (drops the rendered-row caches)
        self.refresh_coordinate(
            Coordinate(self.get_row_index(row), self.get_column_index(column_key))
        )

    def _ide_cell(self, status: WorkspaceStatus) -> str:
        """The IDE `o` opens; "no ssh" where no IDE could connect (B18)."""
        ws = status.workspace
        if status.status == Status.RUNNING and not ws.ssh_ready:
            return "no ssh"
        return self.ides.get(ws.name, self.default_ide)

    def _cells(
        self, status: WorkspaceStatus, operation: str | None, now: float, mark: str = ""
    ) -> Cells:
        ws = status.workspace
        if operation:
            status_text = self._spinning(operation)
        else:
            plain = f"{status.status} *" if status.changed else str(status.status)
            status_text = Text(plain, style=self._style_of(plain))
        return (
            f"{mark} {ws.name}" if mark else ws.name,
            ws.provider,
            status_text,
            Text(_fit(ws.source.display(), self.source_width)),  # never read as markup
            self._ide_cell(status),
            age_text(ws.created_at, now),
            cost_cell(status.machine),
        )


def _room_marks(shown: list[WorkspaceStatus]) -> dict[str, str]:
    """The mark before each room member's name, drawing its room as a bracket: ┌ first, │ in
    between, └ last (the app shows a room's members together)."""
    marks: dict[str, str] = {}
    for index, status in enumerate(shown):
        room = status.workspace.room
        if not room:
            continue
        before = index > 0 and shown[index - 1].workspace.room == room
        after = index + 1 < len(shown) and shown[index + 1].workspace.room == room
        marks[status.workspace.name] = (
            "│" if before and after else "└" if before else "┌" if after else "─"
        )
    return marks


def _fit(text: str, width: int) -> str:
    """Shorten from the left, where paths and URLs are least telling."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]
