"""The Textual app: providers, workspaces and a details pane, every action one key away.

Background I/O runs in workers that only post messages; handlers on the app own the widgets.
Lifecycle logic stays in core: the app calls the same Engine as the CLI.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Log,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from core.errors import PodbayError
from core.model import (
    Event,
    Status,
    WorkspaceStatus,
    age_text,
    cost_cell,
    machine_text,
    redact_url,
)
from tui import actions
from tui.commands import ActionCommands
from tui.messages import (
    DeleteChecked,
    OperationEvent,
    OperationFinished,
    PortsForwarded,
    StatusPolled,
)
from tui.widgets.workspace_table import WorkspaceTable

if TYPE_CHECKING:
    from core.engine import Engine, UpRequest
    from core.model import ProviderConfig
    from core.ssh.client import Forward

POLL_SECONDS = 3.0
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
LOG_LINES = 5000
COLUMNS = ("name", "provider", "status", "source", "ide", "age", "cost")


class PodbayApp(App[int]):
    TITLE = "podbay"
    SUB_TITLE = "development workspaces"
    CSS_PATH = "podbay.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [*actions.bindings()]
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(
        self,
        engine: Engine,
        poll_seconds: float | None = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.clock = clock  # for ages; tests fix it
        self.statuses: dict[str, WorkspaceStatus] = {}  # from the last poll
        self.operations: dict[str, str] = {}  # running operation's verb, by workspace
        # Deletes the user confirmed after being shown the work they would lose.
        self.force_delete: set[str] = set()
        self.logs: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=LOG_LINES))
        self.forwards: dict[str, list[Forward]] = defaultdict(list)
        self.provider_errors: dict[str, str | None] = {}
        self.filter_text = ""
        self._frame = 0
        self._shown_log: str | None = None
        self._poll_timer: Timer | None = None
        self._poll_failures = 0  # in a row; the retry waits longer each time (up to 60 s)
        self.source_width = 20
        self._rendered: dict[str, tuple[str | Text, ...]] = {}  # cells as last shown, by workspace

    # layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="banner", markup=False)
        with Vertical():
            yield Static("Providers", classes="pane-title")
            yield DataTable(id="providers", cursor_type="row")
            yield Static("Workspaces", classes="pane-title")
            yield Input(placeholder="filter workspaces (esc clears)", id="filter")
            yield WorkspaceTable(id="workspaces", cursor_type="row")
            with TabbedContent(id="details-pane"):
                with TabPane("Details", id="tab-details"):
                    yield Static("", id="details-text", markup=False)
                with TabPane("Logs", id="tab-logs"):
                    yield Log(id="log", max_lines=LOG_LINES)
                with TabPane("Ports", id="tab-ports"):
                    yield Static("No forwarded ports. Press f to forward one.", id="ports-text")
        yield Footer()

    def on_mount(self) -> None:
        providers = self.query_one("#providers", DataTable)
        providers.add_column("NAME", key="name", width=14)
        providers.add_column("TYPE", key="type", width=8)
        providers.add_column("DEFAULT", key="default", width=7)
        providers.add_column("REACHABLE", key="reachable")
        table = self.query_one("#workspaces", DataTable)
        fixed = {"name": 14, "provider": 8, "status": 11, "ide": 6, "age": 4, "cost": 5}
        # SOURCE takes what is left of the terminal's width (7 columns, 2 cells of padding each).
        self.source_width = max(12, self.size.width - sum(fixed.values()) - 2 * 7 - 2)
        labels = ("NAME", "PROVIDER", "STATUS", "SOURCE", "IDE", "AGE", "$/H")
        for label, key in zip(labels, COLUMNS, strict=True):
            table.add_column(label, key=key, width=fixed.get(key, self.source_width))
        self.render_providers()
        table.focus()
        self.poll_status()
        self.set_interval(0.12, self._spin)
        # Everything alive now (modules, widgets, parsed CSS) lives as long as the app. Frozen,
        # the collector stops rescanning it: full collections took 50-130 ms here and showed as
        # key lag while polls ran; frozen, the longest stall measured is about 20 ms.
        gc.freeze()

    # polling -------------------------------------------------------------------------------

    def poll_status(self) -> None:
        """Poll now; the poll reschedules itself, so there is only ever one timer."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self.run_worker(self._poll(), exclusive=True, group="poll", exit_on_error=False)

    async def _poll(self) -> None:
        delay = self.poll_seconds
        try:
            result = await self.engine.poll(drift=True)
            self.post_message(StatusPolled(result))
            self._poll_failures = 0
        except Exception as exc:  # any failure is shown and retried; the poll never stops
            self._poll_failures += 1
            if isinstance(exc, PodbayError):
                text = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
            else:
                text = f"internal error while polling: {type(exc).__name__}: {exc}"
            if delay is not None:
                delay = min(delay * 2**self._poll_failures, 60)
                text += f"; trying again in {delay:.0f} s"
            self.post_message(StatusPolled(None, text))
        if delay is not None:
            self._poll_timer = self.set_timer(delay, self.poll_status)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry names, paths and messages from elsewhere: plain text."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_status_polled(self, message: StatusPolled) -> None:
        banner = self.query_one("#banner", Static)
        if message.result is None:
            banner.update(message.error)
            banner.add_class("visible")
            return
        self.provider_errors = message.result.provider_errors
        default = self.engine.default_provider_name()
        down = self.provider_errors.get(default or "")
        banner.set_class(bool(down), "visible")
        banner.update(f"Provider {default} is not reachable: {down}" if down else "")
        self.statuses = {s.workspace.name: s for s in message.result.statuses}
        self.render_providers()
        self.render_workspaces()

    # rendering -----------------------------------------------------------------------------

    def render_providers(self) -> None:
        table = self.query_one("#providers", DataTable)
        default = self.engine.default_provider_name()
        table.clear()
        for provider in self.engine.store.providers():
            if provider.name not in self.provider_errors:
                reachable = "…"
            else:
                error = self.provider_errors[provider.name]
                reachable = "yes" if error is None else f"no: {error}"
            table.add_row(
                provider.name,
                provider.type,
                "*" if provider.name == default else "",
                reachable,
                key=provider.name,
            )

    def _status_text(self, name: str) -> str:
        if self.operations.get(name):
            return f"{SPINNER[self._frame % len(SPINNER)]} {self.operations[name]}"
        status = self.statuses[name]
        return f"{status.status} *" if status.changed else str(status.status)

    def _row(self, name: str) -> tuple[str | Text, ...]:
        ws = self.statuses[name].workspace
        return (
            ws.name,
            ws.provider,
            self._status_text(name),
            Text(_fit(ws.source.display(), self.source_width)),  # never read as markup
            "vscode",
            age_text(ws.created_at, self.clock()),
            cost_cell(self.statuses[name].machine),
        )

    def visible_names(self) -> list[str]:
        return sorted(n for n in self.statuses if self.filter_text.lower() in n.lower())

    def render_workspaces(self) -> None:
        table = self.query_one("#workspaces", DataTable)
        selected = self.selected_name()
        wanted = self.visible_names()
        with self.batch_update():
            for key in [k.value for k in list(table.rows)]:
                if key is not None and key not in wanted:
                    table.remove_row(key)
                    self._rendered.pop(str(key), None)
            added = False
            present = {k.value for k in table.rows}
            for name in wanted:
                cells = self._row(name)
                before = self._rendered.get(name)
                if name in present and before is not None:
                    for column, value, old in zip(COLUMNS, cells, before, strict=True):
                        if value != old:  # only what changed: a poll of 500 rows stays cheap
                            table.update_cell(name, column, value)
                else:
                    table.add_row(*cells, key=name)
                    added = True
                self._rendered[name] = cells
            if added:
                table.sort("name")
            if selected in wanted:
                table.move_cursor(row=table.get_row_index(selected))
        self.render_details()

    def _spin(self) -> None:
        busy = [n for n in self.visible_names() if self.operations.get(n)]
        if not busy:
            return
        self._frame += 1
        table = self.query_one("#workspaces", DataTable)
        for name in busy:
            text = self._status_text(name)
            table.update_cell(name, "status", text)
            cached = self._rendered.get(name)
            if cached is not None:
                self._rendered[name] = (*cached[:2], text, *cached[3:])

    def render_details(self) -> None:
        name = self.selected_name()
        text = self.query_one("#details-text", Static)
        ports = self.query_one("#ports-text", Static)
        log = self.query_one("#log", Log)
        if name is None:
            text.update("No workspace selected. Press n to create one.")
            if not self.statuses:
                text.update(
                    "No workspaces yet. Press n to create one (a folder, git URL, image or "
                    "template), or run: podbay up FOLDER"
                )
            return
        status = self.statuses[name]
        ws = status.workspace
        doing = self.operations.get(name)
        lines = [
            f"{ws.name}  ({status.status}{', ' + doing if doing else ''})",
            f"provider:  {ws.provider}",
            f"source:    {ws.source.display()}",
            f"folder:    {ws.workspace_folder or '-'}   user: {ws.remote_user or 'root'}",
            f"ssh:       ssh {ws.name}.podbay"
            + ("" if ws.ssh_ready else f"  (unavailable: {ws.ssh_note or 'not set up'})"),
        ]
        if status.machine:
            lines.append(f"machine:   {machine_text(status.machine)}")
        if status.detail:
            lines.append(f"note:      {status.detail}")
        if status.changed:
            lines.append(
                f"config:    * changed since the container was made ({', '.join(status.changed)});"
                " press r to rebuild"
            )
        text.update("\n".join(lines))
        ports.update(
            "\n".join(f.describe() for f in self.forwards[name])
            or "No forwarded ports. Press f to forward one."
        )
        if self._shown_log != name:
            self._shown_log = name
            log.clear()
            log.write_lines(list(self.logs[name]))

    # selection -----------------------------------------------------------------------------

    def selected_name(self) -> str | None:
        table = self.query_one("#workspaces", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def workspace_names(self) -> list[str]:
        return sorted(self.statuses)

    def select_workspace(self, name: str) -> None:
        table = self.query_one("#workspaces", DataTable)
        if name in {k.value for k in table.rows}:
            table.move_cursor(row=table.get_row_index(name))
            table.focus()

    @on(DataTable.RowHighlighted, "#workspaces")
    def _highlighted(self) -> None:
        try:
            self.render_details()
        except NoMatches:  # a highlight that arrives while the app is closing
            return
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = actions.BY_ID.get(action)
        if spec is not None and spec.needs_workspace and self.selected_name() is None:
            return None  # shown dimmed
        return True

    # operations ----------------------------------------------------------------------------

    def _selected(self) -> tuple[str, WorkspaceStatus] | None:
        name = self.selected_name()
        if name is None or name not in self.statuses:
            self.notify("Select a workspace first", severity="warning")
            return None
        return name, self.statuses[name]

    def start_operation(self, name: str, verb: str, request: UpRequest | None = None) -> None:
        if self.operations.get(name):
            self.notify(f"{name} is busy ({self.operations[name]})", severity="warning")
            return
        self.operations[name] = verb
        self.logs[name].append(f"==> {verb} {name}")
        self.run_worker(
            self._operate(name, verb, request),
            name=f"{verb}:{name}",
            group=f"op-{name}",
            exit_on_error=False,
        )
        self.render_workspaces()

    async def _operate(self, name: str, verb: str, request: UpRequest | None) -> None:
        def forward(event: Event) -> None:
            self.post_message(OperationEvent(event.workspace or name, event))

        try:
            if verb in ("starting", "creating", "rebuilding"):
                from core.engine import UpRequest as Up

                await self.engine.up(
                    request or Up(name=name, rebuild=verb == "rebuilding"), forward, self._consent
                )
            elif verb == "stopping":
                await self.engine.stop(name, forward)
            elif verb == "deleting":
                await self.engine.delete(name, forward, force=name in self.force_delete)
        except PodbayError as exc:
            self.post_message(OperationFinished(name, verb, exc.message, exc.hint))
            return
        self.post_message(OperationFinished(name, verb))

    async def _consent(self, title: str, items: list[str]) -> bool:
        """Asked from an operation's worker: a source from elsewhere wants more (core.consent)."""
        from tui.screens.confirm import Confirm

        detail = "\n".join(f"  • {item}" for item in items) + "\n\nAllowed once, it is remembered."
        answer = await self.push_screen_wait(Confirm(title, detail, "Allow"))
        return bool(answer)

    def on_operation_event(self, message: OperationEvent) -> None:
        if message.event.kind == "progress":
            return
        line = message.event.line()
        self.logs[message.name].append(line)
        if self._shown_log == message.name:
            self.query_one("#log", Log).write_line(line)

    def on_operation_finished(self, message: OperationFinished) -> None:
        self.operations.pop(message.name, None)
        if message.error:
            self.notify(
                f"{message.error}\n{message.hint}".strip(),
                title=f"{message.verb} {message.name} failed",
                severity="error",
                timeout=10,
            )
        else:
            done = {
                "starting": "is running",
                "creating": "is running",
                "rebuilding": "is rebuilt",
                "stopping": "is stopped",
                "deleting": "is deleted",
            }[message.verb]
            self.notify(f"{message.name} {done}")
        self.poll_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Operations report their own errors; anything else that fails is a bug to show, not hide.
        if event.state == WorkerState.ERROR and not (event.worker.group or "").startswith("op-"):
            error = event.worker.error
            self.notify(
                f"{type(error).__name__}: {error}", title="internal error", severity="error"
            )
        if event.state == WorkerState.CANCELLED and (event.worker.group or "").startswith("op-"):
            name = (event.worker.group or "").removeprefix("op-")
            self.operations.pop(name, None)
            self.logs[name].append("==> cancelled")
            self.notify(f"cancelled: {event.worker.name}; podbay up {name} finishes it")
            self.poll_status()

    # actions (one per registry entry) ------------------------------------------------------

    def action_new_workspace(self) -> None:
        from tui.screens.new_workspace import NewWorkspace

        def chosen(request: UpRequest | None) -> None:
            if request is None:
                return
            self.notify(f"creating a workspace from {redact_url(request.source or '')}")
            name = request.name or _guess_name(request.source or "")
            self.start_operation(name, "creating", request)

        names = [p.name for p in self.engine.store.providers()]
        self.push_screen(NewWorkspace(names, self.engine.default_provider_name()), chosen)

    def action_up(self) -> None:
        if (selected := self._selected()) is not None:
            self.start_operation(selected[0], "starting")

    def action_stop(self) -> None:
        if (selected := self._selected()) is not None:
            self.start_operation(selected[0], "stopping")

    def action_rebuild(self) -> None:
        from tui.screens.confirm import Confirm

        if (selected := self._selected()) is None:
            return
        name = selected[0]

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_operation(name, "rebuilding")

        self.push_screen(
            Confirm(
                f"Rebuild workspace {name}?",
                "Its container is removed and created again; the source and named volumes stay.",
                "Rebuild",
            ),
            answered,
        )

    def action_delete(self) -> None:
        if (selected := self._selected()) is None:
            return
        name = selected[0]
        if name in self.operations:
            self.notify(f"{name} is busy: {self.operations[name]}")
            return
        self.run_worker(self._check_delete(name), group=f"check-{name}", exit_on_error=False)

    async def _check_delete(self, name: str) -> None:
        try:
            work, other = await self.engine.work_at_risk(name)
            lost = work + other
        except Exception as exc:  # the dialog still opens, saying what could not be checked
            text = exc.message if isinstance(exc, PodbayError) else f"{type(exc).__name__}: {exc}"
            lost = [f"not checked ({text})"]
        self.post_message(DeleteChecked(name, lost))

    def on_delete_checked(self, message: DeleteChecked) -> None:
        from tui.screens.confirm import Confirm

        name, lost = message.name, message.lost
        ws = self.engine.store.find_workspace(name)
        if ws is None:
            return
        kept = (
            f"podbay's copy of the source ({ws.folder}) is removed too."
            if ws.owned_folder
            else f"Your folder {ws.folder} is kept."
        )
        detail = f"Its container, keys and state are removed. {kept}"
        if lost:
            detail += "\n\nThis work would be lost:\n" + "\n".join(f"  • {item}" for item in lost)

        def answered(yes: bool | None) -> None:
            if yes:
                if lost:
                    self.force_delete.add(name)
                else:
                    self.force_delete.discard(name)
                self.start_operation(name, "deleting")

        self.push_screen(
            Confirm(
                f"Delete workspace {name} ({ws.provider})?",
                detail,
                "Delete anyway" if lost else "Delete",
            ),
            answered,
        )

    def action_cancel_operation(self) -> None:
        name = self.selected_name()
        if name is None or not self.operations.get(name):
            self.notify("Nothing is running for this workspace")
            return
        self.workers.cancel_group(self, f"op-{name}")

    def action_shell(self) -> None:
        if (selected := self._selected()) is None:
            return
        name, status = selected
        if status.status != Status.RUNNING:
            self.notify(f"{name} is {status.status}; press u to start it", severity="warning")
            return
        argv = [sys.executable, "-m", "tui.cli", "ssh", name]
        env = {**os.environ, "PODBAY_HOME": str(self.engine.store.root)}
        with self.suspend():
            print(f"\nAttached to {name}; exit the shell to return to podbay.", flush=True)
            print(f"+ podbay ssh {name}\n", flush=True)
            code = subprocess.call(argv, env=env)
        self.notify(
            f"shell in {name} exited {code}",
            severity="error" if code not in (0, 130) else "information",
        )

    def action_open_code(self) -> None:
        if (selected := self._selected()) is not None:
            self._open_code(selected[1].workspace.model_dump())

    @work(thread=True, exit_on_error=False, group="ide")
    def _open_code(self, record: dict[str, Any]) -> None:
        from core.ide import open_vscode

        result = open_vscode(record)
        if result["opened"]:
            self.notify(f"opened VS Code on {record['name']}")
        else:
            self.notify(f"No `code` command here. Open: {result['url']}", timeout=20)

    def action_forward(self) -> None:
        from core.ssh.client import parse_forward
        from tui.screens.prompt import Prompt

        if (selected := self._selected()) is None:
            return
        name, status = selected

        def check(text: str) -> str | None:
            try:
                parse_forward(text)
            except PodbayError as exc:
                return f"{exc.message}: {exc.hint}"
            return None

        def chosen(text: str | None) -> None:
            if text:
                self._forward(name, status.workspace.model_dump(), text)

        self.push_screen(
            Prompt(f"Forward a port of {name} to 127.0.0.1", "PORT or PORT:LOCAL", check), chosen
        )

    @work(exit_on_error=False, group="forward")
    async def _forward(self, name: str, record: dict[str, Any], spec: str) -> None:
        from core.attach import sshd_argv
        from core.ssh import client

        try:
            conn = await client.connect(
                self.engine.store.root, name, record.get("remote_user") or "root", sshd_argv(record)
            )
            forwards = await client.open_forwards(conn, [spec])
        except PodbayError as exc:
            self.notify(f"{exc.message}\n{exc.hint}", title="forward failed", severity="error")
            return
        self.post_message(PortsForwarded(name, forwards))
        async with conn:
            await conn.wait_closed()

    def on_ports_forwarded(self, message: PortsForwarded) -> None:
        self.forwards[message.name].extend(message.forwards)
        self.notify("forwarding " + ", ".join(f.describe() for f in message.forwards))
        self.render_details()

    def action_focus_logs(self) -> None:
        self.query_one("#details-pane", TabbedContent).active = "tab-logs"
        self.query_one("#log", Log).focus()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.render_workspaces()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#workspaces", DataTable).focus()

    def on_key(self, event: Any) -> None:
        box = self.query_one("#filter", Input)
        if (
            event.key == "escape"
            and box.has_class("visible")
            and self.screen is self.screen_stack[0]
        ):
            box.value = ""
            box.remove_class("visible")
            self.query_one("#workspaces", DataTable).focus()

    def action_add_provider(self) -> None:
        self._provider_form(None)

    def action_edit_provider(self) -> None:
        table = self.query_one("#providers", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self._provider_form(self.engine.store.provider(str(key)))

    def _provider_form(self, existing: ProviderConfig | None) -> None:
        from tui.screens.provider_form import ProviderForm

        def saved(config: ProviderConfig | None) -> None:
            if config is None:
                return
            self.engine.save_provider(config)
            if self.engine.default_provider_name() is None:
                self.engine.store.set_meta("default_provider", config.name)
            self.notify(f"saved provider {config.name}")
            self.render_providers()
            self.poll_status()

        taken = {p.name for p in self.engine.store.providers()}
        self.push_screen(ProviderForm(existing, taken), saved)

    def action_refresh(self) -> None:
        self.poll_status()

    def action_help(self) -> None:
        from tui.screens.help import Help

        self.push_screen(Help())

    async def action_quit(self) -> None:
        self.exit(0)


def _fit(text: str, width: int) -> str:
    """Shorten from the left, where paths and URLs are least telling."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _guess_name(source: str) -> str:
    from core import source as sources

    try:
        return sources.default_name(sources.parse(source))
    except PodbayError:
        return source


def run_tui(**kwargs: Any) -> int:
    from tui.wiring import open_engine

    PodbayApp(open_engine()).run(**kwargs)
    return 0
