"""The Textual app: providers and workspaces at a glance. (The full cockpit comes later.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from core.model import age_text

if TYPE_CHECKING:
    from core.engine import Engine
    from core.model import WorkspaceStatus

POLL_SECONDS = 3.0


class StatusPolled(Message):
    """A background poll finished: new rows for the workspaces table, or an error line."""

    def __init__(self, statuses: list[WorkspaceStatus], error: str = "") -> None:
        super().__init__()
        self.statuses = statuses
        self.error = error


class PodbayApp(App[int]):
    TITLE = "podbay"
    SUB_TITLE = "development workspaces"
    CSS = """
    #providers { height: auto; max-height: 8; }
    #workspaces { height: 1fr; }
    .pane-title { background: $panel; color: $text; padding: 0 1; text-style: bold; }
    #message { height: auto; color: $warning; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh"),
        Binding("tab", "focus_next", "Switch pane", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("Providers", classes="pane-title")
            yield DataTable(id="providers", cursor_type="row")
            yield Static("Workspaces", classes="pane-title")
            yield DataTable(id="workspaces", cursor_type="row")
            yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        providers = self.query_one("#providers", DataTable)
        providers.add_columns("NAME", "TYPE", "DEFAULT", "OPTIONS")
        default = self.engine.default_provider_name()
        for p in self.engine.store.providers():
            options = " ".join(f"{k}={v}" for k, v in p.options.items() if v) or "-"
            providers.add_row(p.name, p.type, "*" if p.name == default else "", options)
        table = self.query_one("#workspaces", DataTable)
        table.add_columns("NAME", "PROVIDER", "STATUS", "SOURCE", "AGE")
        self.poll_status()

    def action_refresh(self) -> None:
        self.poll_status()

    def poll_status(self) -> None:
        self.run_worker(self._poll(), exclusive=True, group="poll")

    async def _poll(self) -> None:
        from core.errors import PodbayError

        try:
            statuses = await self.engine.status_all()
            self.post_message(StatusPolled(statuses))
        except PodbayError as exc:
            self.post_message(StatusPolled([], f"{exc.message} ({exc.hint})"))
        self.set_timer(POLL_SECONDS, self.poll_status)

    def on_status_polled(self, message: StatusPolled) -> None:
        table = self.query_one("#workspaces", DataTable)
        table.clear()
        for item in message.statuses:
            ws = item.workspace
            table.add_row(
                ws.name,
                ws.provider,
                str(item.status),
                ws.source.display(),
                age_text(ws.created_at),
                key=ws.name,
            )
        notes = [
            f"{s.workspace.name}: {s.detail}"
            for s in message.statuses
            if str(s.status) in ("Error", "NotFound") and s.detail
        ]
        text = message.error or "\n".join(notes)
        if not message.statuses and not message.error:
            text = "No workspaces yet. Create one: podbay up FOLDER | GIT-URL | IMAGE | TEMPLATE"
        self.query_one("#message", Static).update(text)


def run_tui(**kwargs: Any) -> int:
    from tui.cli import open_engine

    PodbayApp(open_engine()).run(**kwargs)
    return 0
