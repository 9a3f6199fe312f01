"""The providers pane: each provider, the default marked, and whether the last poll reached it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from textual.widgets import DataTable

if TYPE_CHECKING:
    from podbay.core.model import ProviderConfig


COLUMNS = ("name", "type", "default", "reachable")


class ProvidersTable(DataTable[str]):
    def on_mount(self) -> None:
        self.add_column("NAME", key="name", width=14)
        self.add_column("TYPE", key="type", width=8)
        self.add_column("DEFAULT", key="default", width=7)
        self.add_column("REACHABLE", key="reachable")

    def show(
        self,
        providers: Iterable[ProviderConfig],
        default: str | None,
        errors: Mapping[str, str | None],
    ) -> None:
        """Show these providers; `errors` has the last poll's error (or None) per provider. Only
        changed cells are drawn again, and the cursor stays on its provider (a poll must not
        move it: `e` edits the provider under it)."""
        wanted: dict[str, tuple[str, ...]] = {}
        for provider in providers:
            if provider.name not in errors:
                reachable = "…"  # not polled yet
            else:
                error = errors[provider.name]
                reachable = "yes" if error is None else f"no: {error}"
            default_mark = "*" if provider.name == default else ""
            wanted[provider.name] = (provider.name, provider.type, default_mark, reachable)
        selected = self.highlighted_name()
        with self.app.batch_update():
            for key in [k.value for k in list(self.rows)]:
                if key not in wanted:
                    self.remove_row(str(key))
            present = {k.value for k in self.rows}
            added = False
            for name, cells in wanted.items():
                if name not in present:
                    self.add_row(*cells, key=name)
                    added = True
                    continue
                for column, value in zip(COLUMNS, cells, strict=True):
                    if self.get_cell(name, column) != value:
                        self.update_cell(name, column, value)
            if added:
                self.sort("name")  # (the store's order)
            if selected in wanted:
                self.move_cursor(row=self.get_row_index(selected))

    def highlighted_name(self) -> str | None:
        """The provider under the cursor, if there is any."""
        if self.row_count == 0:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
