"""The Ports tab: the workspace's configured forwardPorts beside the forwards open now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.widgets import DataTable

from podbay.core.errors import PodbayError

if TYPE_CHECKING:
    from textual.worker import Worker

    from podbay.core.ssh.client import Forward

COLUMNS = ("PORT", "LOCAL URL", "STATE")


@dataclass(frozen=True)
class OpenForward:
    """A forward the TUI holds open, and the worker whose connection carries it."""

    forward: Forward
    worker: Worker[Any]

    @property
    def target(self) -> tuple[str, int]:
        return self.forward.target_host, self.forward.target_port

    @property
    def key(self) -> str:
        """Its row's key: the port and the local port (one port may be forwarded twice)."""
        return f"{port_text(self.target)}@{self.forward.local_port}"


def target_of(spec: str | int) -> tuple[str, int] | None:
    """(host, port) a PORT, PORT:LOCAL or forwardPorts' "host:port" reaches; None if invalid."""
    from podbay.core.ssh.client import parse_forward

    try:
        _, host, port = parse_forward(spec)
    except PodbayError:
        return None
    return host, port


def port_text(target: tuple[str, int]) -> str:
    host, port = target
    return str(port) if host == "localhost" else f"{host}:{port}"


def not_forwarded(configured: list[int | str], open_now: list[OpenForward]) -> list[int | str]:
    """The configured forwardPorts that no open forward reaches yet."""
    reached = {forward.target for forward in open_now}
    return [spec for spec in configured if target_of(spec) not in reached]


class PortsTable(DataTable[str]):
    """One row per port: open forwards with their local URL, then configured ones not open
    (f opens the first). Rows are keyed by the target, so the cursor stays on its port."""

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)
        self._shown: list[tuple[str, tuple[str, str, str]]] = []

    def show(self, configured: list[int | str], open_now: list[OpenForward]) -> None:
        rows: list[tuple[str, tuple[str, str, str]]] = []  # (key, cells)
        for item in open_now:
            note = f"; {item.forward.note}" if item.forward.note else ""
            cells = (port_text(item.target), item.forward.url, f"forwarded{note}")
            rows.append((item.key, cells))
        for spec in not_forwarded(configured, open_now):
            target = target_of(spec)
            key = port_text(target) if target is not None else ""
            if target is not None and key not in {k for k, _ in rows}:  # (listed twice: once)
                rows.append((key, (key, "-", "in forwardPorts; f forwards it")))
        if rows == self._shown:
            return
        self._shown = rows
        selected = self.selected_port()
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if not rows:
            self.add_row("-", "-", "nothing forwarded; f forwards a port", key="")
        if selected is not None and selected in {key for key, _ in rows}:
            self.move_cursor(row=self.get_row_index(selected))

    def selected_port(self) -> str | None:
        """The key of the row under the cursor ("" or None without a port)."""
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value else None
