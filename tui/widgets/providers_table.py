"""The providers pane: each provider, the default marked, and whether the last poll reached it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from textual.widgets import DataTable

if TYPE_CHECKING:
    from podbay.core.model import ProviderConfig


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
        """Draw the rows again; `errors` has the last poll's error (or None) per provider."""
        self.clear()
        for provider in providers:
            if provider.name not in errors:
                reachable = "…"  # not polled yet
            else:
                error = errors[provider.name]
                reachable = "yes" if error is None else f"no: {error}"
            self.add_row(
                provider.name,
                provider.type,
                "*" if provider.name == default else "",
                reachable,
                key=provider.name,
            )

    def highlighted_name(self) -> str | None:
        """The provider under the cursor, if there is any."""
        if self.row_count == 0:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
