"""The Textual app: providers, workspaces and a details pane, every action one key away.

Background I/O runs in workers that only post messages; handlers on the app own the widgets.
Lifecycle logic stays in core: the app calls the same Engine as the CLI.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.worker import Worker, WorkerState

from podbay.core import ide, used
from podbay.core.errors import PodbayError
from podbay.core.model import Event, Status, WorkspaceStatus, redact_url
from podbay.tui import actions
from podbay.tui.attach_actions import AttachActions
from podbay.tui.commands import ActionCommands
from podbay.tui.log_actions import LOG_LINES, TAIL_SECONDS, LogActions
from podbay.tui.messages import (
    DeleteChecked,
    OperationEvent,
    OperationFinished,
    PortsForwarded,
    ProviderChecked,
    StatusPolled,
)
from podbay.tui.operations import Operation
from podbay.tui.widgets.log_view import LogView
from podbay.tui.widgets.ports_table import OpenForward, PortsTable
from podbay.tui.widgets.providers_table import ProvidersTable
from podbay.tui.widgets.workspace_details import WorkspaceDetails
from podbay.tui.widgets.workspace_table import WorkspaceTable
from podbay.tui.wording import for_tui

if TYPE_CHECKING:
    from podbay.core.engine import Engine, UpRequest
    from podbay.core.model import ProviderConfig
    from podbay.tui.screens.history import Notice

POLL_SECONDS = 3.0
# S: how the workspaces are sorted, each with the words the pane's title adds.
SORTS = {"name": "", "status": "(by status)", "used": "(last used first)"}
STATUS_ORDER = {
    Status.ERROR: 0,
    Status.INCOMPLETE: 1,
    Status.NOT_FOUND: 2,
    Status.BUSY: 3,
    Status.RUNNING: 4,
    Status.STOPPED: 5,
}


class Pane(Vertical):
    """A titled pane; its class `focused` while focus is inside it (podbay.tcss shows it on
    the title: CSS's :focus-within does not restyle a pane's children when focus leaves)."""

    def on_descendant_focus(self) -> None:
        self.add_class("focused")

    def on_descendant_blur(self) -> None:
        self.remove_class("focused")


class PodbayApp(AttachActions, LogActions):
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
        self.operations: dict[str, Operation] = {}  # the running one, by workspace
        # Deletes the user confirmed after being shown the work they would lose.
        self.force_delete: set[str] = set()
        self.forwards: dict[str, list[OpenForward]] = defaultdict(list)
        self.connecting: dict[str, set[tuple[str, int]]] = defaultdict(set)
        self.provider_errors: dict[str, str | None] = {}
        # Connection tests of providers the poll did not ask: name -> (options, error or None).
        self.provider_checks: dict[str, tuple[str, str | None]] = {}
        self._testing: dict[str, str] = {}  # tests running: name -> the options tested
        self.filter_text = ""
        self._select_when_shown: str | None = None  # a workspace being created
        self.history: list[Notice] = []  # every notification of the session (`!`)
        self.sort_by = "name"  # or "status", "used" (S cycles)
        self.ssh_known = True  # ~/.ssh/config has podbay's block (checked at each poll)
        self._poll_timer: Timer | None = None
        self._poll_failures = 0  # in a row; the retry waits longer each time (up to 60 s)

    # layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="banner", markup=False)
        with Vertical():
            # The focused pane's title stands out (podbay.tcss); 1, 2, 3 go to the panes.
            with Pane(id="providers-pane", classes="pane"):
                yield Static("1 Providers", classes="pane-title")
                yield ProvidersTable(id="providers", cursor_type="row")
            with Pane(id="workspaces-pane", classes="pane"):
                yield Static("2 Workspaces", classes="pane-title", id="workspaces-title")
                yield Input(placeholder="filter workspaces (esc clears)", id="filter")
                yield WorkspaceTable(id="workspaces", cursor_type="row")
            with TabbedContent(id="details-pane"):
                with TabPane("Details", id="tab-details"):
                    yield WorkspaceDetails(id="details-text")
                with TabPane("Logs", id="tab-logs"):
                    yield Static("", id="log-bar", markup=False)
                    yield Input(placeholder="search the log (esc clears)", id="log-search")
                    yield LogView(LOG_LINES, id="log")
                with TabPane("Ports", id="tab-ports"):
                    yield PortsTable(id="ports", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(WorkspaceTable)
        table.add_workspace_columns(self.size.width)
        self.render_providers()
        table.focus()
        self.poll_status()
        self.set_interval(0.12, self._spin)
        self.set_interval(TAIL_SECONDS, self._tail_log)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        # Everything alive now (modules, widgets, parsed CSS) lives as long as the app. Frozen,
        # the collector stops rescanning it: full collections took 50-130 ms here and showed as
        # key lag while polls ran; frozen, the longest stall measured is about 20 ms.
        gc.freeze()

    async def on_event(self, event: events.Event) -> None:
        """Keys reach their bindings in the order typed (B16). Textual hands a key to the focused
        widget before the binding of the key before it has run, so in a burst (`/` then a
        search, `l` then `F`, a paste) keys went where the focus had been: `/` then `from`
        forwarded a port. Outside text fields the bindings run here, one key after the other;
        a text field gets its keys as usual."""
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and not isinstance(self.focused, Input)
            and (
                await self._check_bindings(event.key, priority=True)
                or await self._check_bindings(event.key)
            )
        ):
            return
        await super().on_event(event)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        """A dialog opens without toasts over its buttons (B14); `!` still lists them."""
        if isinstance(screen, ModalScreen) and self._notifications:
            self.clear_notifications()

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
        """Notifications carry names, paths and messages from elsewhere: plain text, with
        core's hints in the TUI's words (keys, not commands)."""
        from podbay.tui.screens.history import Notice

        message = for_tui(message)
        self.history.append(Notice(self.clock(), severity, title, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_status_polled(self, message: StatusPolled) -> None:
        banner = self.query_one("#banner", Static)
        if message.result is None:
            banner.update(for_tui(message.error))
            banner.add_class("visible")
            return
        self.provider_errors = dict(message.result.provider_errors)
        for name in message.result.unasked:
            self._provider_answer(name)
        default = self.engine.default_provider_name()
        down = self.provider_errors.get(default or "")
        banner.set_class(bool(down), "visible")
        banner.update(for_tui(f"Provider {default} is not reachable: {down}") if down else "")
        self.statuses = {s.workspace.name: s for s in message.result.statuses}
        self._read_ides()
        self._check_ssh_config()
        self._close_forwards_of_stopped()
        self.render_providers()
        self.render_workspaces()

    def _provider_answer(self, name: str) -> None:
        """Whether a provider the poll did not ask (nothing to poll) can be reached: its
        connection test, run once per set of options, says so (B5: not a false "yes")."""
        config = self.engine.store.provider(name)
        if config is None:
            return
        options = config.model_dump_json()
        tested = self.provider_checks.get(name)
        if tested is not None and tested[0] == options:
            self.provider_errors[name] = tested[1]
            return
        if self._testing.get(name) == options:
            return  # its test runs (an AWS one can take longer than a poll)
        self._testing[name] = options
        self.run_worker(
            self._test_provider(name, options),
            group=f"test-provider-{name}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _test_provider(self, name: str, options: str) -> None:
        try:
            await self.engine.providers.get(name).check()
            error = None
        except PodbayError as exc:
            error = exc.message
        except Exception as exc:  # a test that breaks says so on its row
            error = f"{type(exc).__name__}: {exc}"
        self.post_message(ProviderChecked(name, options, error))

    def on_provider_checked(self, message: ProviderChecked) -> None:
        self._testing.pop(message.name, None)
        self.provider_checks[message.name] = (message.options, message.error)
        self.provider_errors[message.name] = message.error
        self.render_providers()

    def _read_ides(self) -> None:
        """Which IDE each workspace opens (one query per poll, not per row)."""
        table = self.query_one(WorkspaceTable)
        table.ides = ide.all_chosen(self.engine.store)
        table.default_ide = ide.default(self.engine.store)

    def action_choose_ide(self) -> None:
        """I: the IDE `o` opens for the selected workspace (or the default)."""
        from podbay.tui.screens.choose_ide import ChooseIde

        if (selected := self._selected()) is None:
            return
        name = selected[0]
        store = self.engine.store
        own = store.get_meta(f"ide:{name}") or None

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            ide.choose(store, name, None if answer == "default" else answer)
            self._read_ides()
            self.render_workspaces()
            self.notify(f"{name} opens {ide.IDES[ide.chosen(store, name)].title} (o)")

        self.push_screen(ChooseIde(name, own, ide.default(store)), chosen)

    def _check_ssh_config(self) -> None:
        """Whether `ssh NAME.podbay` works from a shell here (a small file read per poll: the
        CLI may have installed it meanwhile)."""
        from podbay.core.ssh import user_config

        self.ssh_known = user_config.installed(user_config.user_ssh_config())

    # rendering -----------------------------------------------------------------------------

    def render_providers(self) -> None:
        self.query_one(ProvidersTable).show(
            self.engine.store.providers(), self.engine.default_provider_name(), self.provider_errors
        )

    def visible_names(self) -> list[str]:
        """The workspaces the filter lets through: it matches their name, source, provider or
        status, in any case."""
        wanted = self.filter_text.lower()

        def matches(status: WorkspaceStatus) -> bool:
            ws = status.workspace
            fields = (ws.name, ws.source.display(), ws.provider, str(status.status), ws.room or "")
            return any(wanted in field.lower() for field in fields)

        names = [name for name, status in self.statuses.items() if matches(status)]
        return self._rooms_together(sorted(names, key=self._sort_key()))

    def _rooms_together(self, names: list[str]) -> list[str]:
        """The members of a room (up --count) together, by name, where its first one is."""
        rooms: dict[str, list[str]] = {}
        for name in names:
            room = self.statuses[name].workspace.room
            if room:
                rooms.setdefault(room, []).append(name)
        ordered: list[str] = []
        for name in names:
            room = self.statuses[name].workspace.room
            if not room:
                ordered.append(name)
            elif room in rooms:
                ordered += sorted(rooms.pop(room))
        return ordered

    def _sort_key(self) -> Callable[[str], Any]:
        if self.sort_by == "status":
            return lambda name: (STATUS_ORDER.get(self.statuses[name].status, 9), name)
        if self.sort_by == "used":
            home = str(self.engine.store.root)

            def last_used(name: str) -> tuple[float, str]:
                when = used.when(home, name) or self.statuses[name].workspace.created_at
                return (-when, name)

            return last_used
        return lambda name: name

    def action_sort(self) -> None:
        order = list(SORTS)
        self.sort_by = order[(order.index(self.sort_by) + 1) % len(order)]
        title = f"2 Workspaces {SORTS[self.sort_by]}".rstrip()
        self.query_one("#workspaces-title", Static).update(title)
        self.render_workspaces()

    def action_history(self) -> None:
        from podbay.tui.screens.history import History

        self.push_screen(History(list(self.history)))

    def render_workspaces(self) -> None:
        shown = [self.statuses[name] for name in self.visible_names()]
        table = self.query_one(WorkspaceTable)
        table.show(shown, self.operations, self.clock())
        if self._select_when_shown in self.statuses:
            table.select(self._select_when_shown)  # a created workspace is selected once shown
            self._select_when_shown = None
        self.render_details()

    def _spin(self) -> None:
        if self.operations:
            self.query_one(WorkspaceTable).spin(self.operations)

    def render_details(self) -> None:
        name = self.selected_name()
        details = self.query_one(WorkspaceDetails)
        details.any_workspaces = bool(self.statuses)
        details.no_match = self.filter_text if self.statuses and not self.visible_names() else ""
        details.ssh_known = self.ssh_known
        details.operation = self.operations.get(name) if name else None
        details.last_used = used.when(str(self.engine.store.root), name) if name else None
        details.room = self._room_text(name)
        details.status = self.statuses[name] if name else None
        if name is None:
            return
        ports = self.statuses[name].workspace.forward_ports
        self.query_one(PortsTable).show(ports, self.forwards[name])
        self._show_log(name)

    def _room_text(self, name: str | None) -> str:
        """ "ws- · 20 workspaces: 18 Running, 2 Stopped" for a member of a room, else ""."""
        room = self.statuses[name].workspace.room if name else None
        if not room:
            return ""
        members = [s for s in self.statuses.values() if s.workspace.room == room]
        counts: dict[str, int] = {}
        for status in members:
            counts[str(status.status)] = counts.get(str(status.status), 0) + 1
        summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        return f"{room} · {len(members)} workspaces: {summary}"

    # selection -----------------------------------------------------------------------------

    def selected_name(self) -> str | None:
        return self.query_one(WorkspaceTable).selected_name()

    def workspace_names(self) -> list[str]:
        return sorted(self.statuses)

    def select_workspace(self, name: str) -> None:
        self.query_one(WorkspaceTable).select(name)

    @on(DataTable.RowHighlighted, "#workspaces")
    def _highlighted(self) -> None:
        try:
            self.render_details()
        except NoMatches:  # a highlight that arrives while the app is closing
            return
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = actions.BY_ID.get(action)
        in_a_list = action == "delete" and isinstance(self.focused, (ProvidersTable, PortsTable))
        if spec is not None and spec.needs_workspace and self.selected_name() is None:
            return True if in_a_list else None  # (None: shown dimmed)
        return True

    # operations ----------------------------------------------------------------------------

    def start_operation(
        self, name: str, operation: Operation, request: UpRequest | None = None
    ) -> None:
        if self.operations.get(name):
            self.notify(f"{name} is busy ({self.operations[name]})", severity="warning")
            return
        self.operations[name] = operation
        if operation is Operation.CREATING:
            self._select_when_shown = name
        self.run_worker(
            self._operate(name, operation, request),
            name=f"{operation}:{name}",
            group=f"op-{name}",
            exit_on_error=False,
        )
        self.render_workspaces()

    async def _operate(self, name: str, operation: Operation, request: UpRequest | None) -> None:
        def forward(event: Event) -> None:
            self.post_message(OperationEvent(event.workspace or name, event))

        force = name in self.force_delete
        try:
            await operation.run(self.engine, name, forward, self._consent, request, force)
        except PodbayError as exc:
            self.post_message(OperationFinished(name, operation, exc.message, exc.hint))
            return
        self.post_message(OperationFinished(name, operation))

    async def _consent(self, title: str, items: list[str]) -> bool:
        """Asked from an operation's worker: a source from elsewhere wants more (core.consent)."""
        from podbay.tui.screens.confirm import consent_dialog

        answer = await self.push_screen_wait(consent_dialog(title, items))
        return bool(answer)

    def on_operation_event(self, message: OperationEvent) -> None:
        # The engine wrote the line to the workspace's log file: show it now, not at the next tick.
        if message.event.kind != "progress" and self._log_shown == (message.name, "log"):
            self._tail_log()

    def on_operation_finished(self, message: OperationFinished) -> None:
        self.operations.pop(message.name, None)
        if message.error:
            self.notify(
                f"{message.error}\n{message.hint}".strip(),
                title=f"{message.operation} {message.name} failed",
                severity="error",
                timeout=10,
            )
        else:
            self.notify(f"{message.name} {message.operation.outcome}")
        self.poll_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Operations report their own errors; anything else that fails is a bug to show, not hide.
        if event.state == WorkerState.ERROR and not (event.worker.group or "").startswith("op-"):
            error = event.worker.error
            self.notify(
                f"{type(error).__name__}: {error}", title="internal error", severity="error"
            )
        if event.worker.group == "forward" and event.worker.is_finished:
            self._forward_ended(event.worker)
        if event.state == WorkerState.CANCELLED and (event.worker.group or "").startswith("op-"):
            name = (event.worker.group or "").removeprefix("op-")
            operation = self.operations.pop(name, None)
            then = "; press u to finish it" if operation and operation.is_up else ""
            self.notify(f"{operation or 'operation'} {name} cancelled{then}")
            self.poll_status()

    # actions (one per registry entry) ------------------------------------------------------

    def action_new_workspace(self) -> None:
        from podbay.tui.screens.new_workspace import NewWorkspace

        def chosen(request: UpRequest | None) -> None:
            if request is None:
                return
            self.notify(f"creating a workspace from {redact_url(request.source or '')}")
            name = request.name or _guess_name(request.source or "")
            self.start_operation(name, Operation.CREATING, request)

        names = [p.name for p in self.engine.store.providers()]
        self.push_screen(NewWorkspace(names, self.engine.default_provider_name()), chosen)

    def action_up(self) -> None:
        if (selected := self._selected()) is not None:
            self.start_operation(selected[0], Operation.STARTING)

    def action_stop(self) -> None:
        if (selected := self._selected()) is not None:
            self.start_operation(selected[0], Operation.STOPPING)

    def action_rebuild(self) -> None:
        from podbay.tui.screens.confirm import rebuild_dialog

        if (selected := self._selected()) is None:
            return
        name = selected[0]

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_operation(name, Operation.REBUILDING)

        self.push_screen(rebuild_dialog(name), answered)

    def action_delete(self) -> None:
        if self._stop_forward() or self._remove_provider():
            return
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
        from podbay.tui.screens.confirm import delete_dialog

        name, lost = message.name, message.lost
        ws = self.engine.store.find_workspace(name)
        if ws is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                if lost:
                    self.force_delete.add(name)
                else:
                    self.force_delete.discard(name)
                self.start_operation(name, Operation.DELETING)

        self.push_screen(delete_dialog(ws, lost), answered)

    def action_cancel_operation(self) -> None:
        name = self.selected_name()
        if name is None or not self.operations.get(name):
            self.notify("Nothing is running for this workspace")
            return
        self.workers.cancel_group(self, f"op-{name}")

    def on_ports_forwarded(self, message: PortsForwarded) -> None:
        opened = [OpenForward(forward, message.worker) for forward in message.forwards]
        self.forwards[message.name].extend(opened)
        self.notify("forwarding " + ", ".join(f.describe() for f in message.forwards))
        self.render_details()

    def _forward_ended(self, worker: Worker[Any]) -> None:
        """A forward's connection closed (stopped with d, its workspace stopped, or lost)."""
        for name, open_now in self.forwards.items():
            if any(item.worker is worker for item in open_now):
                self.forwards[name] = [item for item in open_now if item.worker is not worker]
                self.render_details()

    def _close_forwards_of_stopped(self) -> None:
        """Forwards of a workspace that stopped or is gone go (their connections would only
        fail). Busy or a passing error keeps them: a lost connection ends them itself."""
        for name, open_now in self.forwards.items():
            status = self.statuses.get(name)
            gone = status is None or status.status in (Status.STOPPED, Status.NOT_FOUND)
            if open_now and gone:
                for item in open_now:
                    item.worker.cancel()

    def _selected_forward(self) -> OpenForward | None:
        """The open forward under the Ports tab's cursor, when that tab has focus."""
        table = self.query_one(PortsTable)
        name = self.selected_name()
        if self.focused is not table or name is None:
            return None
        key = table.selected_port()
        return next((f for f in self.forwards[name] if f.key == key), None)

    def _stop_forward(self) -> bool:
        """d in the Ports tab: stop the forward under the cursor (True if it was one)."""
        if self.focused is not self.query_one(PortsTable):
            return False
        item = self._selected_forward()
        if item is None:
            self.notify("That port is not forwarded: nothing to stop")
            return True
        item.worker.cancel()
        self.notify(f"stopped forwarding {item.forward.describe()}")
        return True

    def action_open_browser(self) -> None:
        """w: open the forward under the Ports tab's cursor in a browser."""
        item = self._selected_forward()
        if item is None:
            self.notify("Go to the Ports tab (3, then ]) and pick a forwarded port first")
            return
        self._open_url(item.forward.url)

    @work(thread=True, exit_on_error=False, group="browser")
    def _open_url(self, url: str) -> None:
        import webbrowser

        if webbrowser.open(url):
            self.notify(f"opened {url}")
        else:
            self.notify(f"No browser found here. Open: {url}", timeout=20)

    def action_focus_providers(self) -> None:
        self._focus_now(self.query_one(ProvidersTable))

    def action_focus_workspaces(self) -> None:
        self._focus_now(self.query_one(WorkspaceTable))

    def action_focus_details(self) -> None:
        self._focus_now(self.query_one("#details-pane", TabbedContent).query_one(Tabs))

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def _step_tab(self, step: int) -> None:
        pane = self.query_one("#details-pane", TabbedContent)
        order = ["tab-details", "tab-logs", "tab-ports"]
        pane.active = order[(order.index(pane.active) + step) % len(order)]

    def _focused_table(self) -> DataTable[Any] | None:
        return self.focused if isinstance(self.focused, DataTable) else None

    def action_cursor_down(self) -> None:
        if table := self._focused_table():
            table.action_cursor_down()

    def action_cursor_up(self) -> None:
        if table := self._focused_table():
            table.action_cursor_up()

    def action_cursor_first(self) -> None:
        if table := self._focused_table():
            table.action_scroll_top()

    def action_cursor_last(self) -> None:
        if table := self._focused_table():
            table.action_scroll_bottom()

    def action_install_ssh_config(self) -> None:
        """Let ssh reach NAME.podbay: podbay's block in ~/.ssh/config, after asking."""
        from podbay.core.ssh import user_config
        from podbay.tui.screens.confirm import Confirm

        target = user_config.user_ssh_config()
        include = self.engine.store.root / "ssh_config"

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.engine.write_ssh_config()
                user_config.install(target, include)
            except PodbayError as exc:
                self.notify(
                    f"{exc.message}; {exc.hint}" if exc.hint else exc.message, severity="error"
                )
                return
            self._check_ssh_config()
            name = self.selected_name() or "NAME"
            self.notify(f"{target} includes podbay's ssh_config: ssh {name}.podbay works")
            self.render_details()

        self.push_screen(
            Confirm(
                "Let ssh reach your workspaces as NAME.podbay?",
                f"An Include of podbay's own file ({include}) goes at the top of {target}, "
                "between two marker lines; the rest of the file stays as it is, and the "
                "previous version is kept next to it as config.podbay-backup.",
                "Add it",
            ),
            answered,
        )

    def action_filter(self) -> None:
        if isinstance(self.focused, LogView) or self.focused is self.query_one("#log-search"):
            box = self.query_one("#log-search", Input)
            box.add_class("visible")
            self._focus_now(box)
            return
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        self._focus_now(box)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.render_workspaces()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._focus_now(self.query_one("#workspaces", DataTable))

    def on_key(self, event: Any) -> None:
        if event.key != "escape" or self.screen is not self.screen_stack[0]:
            return
        search = self.query_one("#log-search", Input)
        in_log = self.focused is search or isinstance(self.focused, LogView)
        if in_log and search.has_class("visible"):
            search.value = ""
            search.remove_class("visible")
            self._focus_now(self.query_one(LogView))
            return
        box = self.query_one("#filter", Input)
        if box.has_class("visible"):
            box.value = ""
            box.remove_class("visible")
            self._focus_now(self.query_one("#workspaces", DataTable))

    def action_add_provider(self) -> None:
        self._provider_form(None)

    def action_edit_provider(self) -> None:
        name = self.query_one(ProvidersTable).highlighted_name()
        if name is not None:
            self._provider_form(self.engine.store.provider(name))

    def _provider_form(self, existing: ProviderConfig | None) -> None:
        from podbay.tui.screens.provider_setup import ProviderSetup, SetupResult

        def saved(result: SetupResult | None) -> None:
            if result is None:
                return
            self.engine.providers.save(result.config, use=result.make_default)
            default = " (the default for new workspaces)" if result.make_default else ""
            self.notify(f"saved provider {result.config.name}{default}")
            self.render_providers()
            self.poll_status()

        taken = {p.name for p in self.engine.store.providers()}
        is_default = existing is not None and existing.name == self.engine.default_provider_name()
        self.push_screen(ProviderSetup(existing, taken, is_default), saved)

    def _remove_provider(self) -> bool:
        """d in the providers pane: remove the provider under the cursor, after asking (the
        rules are core's: not while workspaces live on it; the default passes on)."""
        table = self.query_one(ProvidersTable)
        if self.focused is not table:
            return False
        name = table.highlighted_name()
        if name is None:
            return True
        from podbay.tui.screens.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.engine.providers.remove(name)
            except PodbayError as exc:
                self.notify(f"{exc.message}; {exc.hint}", severity="error")
                return
            self.notify(f"removed provider {name}")
            self.render_providers()
            self.poll_status()

        self.push_screen(
            Confirm(
                f"Remove provider {name}?",
                "Its settings go; nothing it made is touched (a provider with workspaces on it "
                "cannot be removed).",
                "Remove",
            ),
            answered,
        )
        return True

    def action_use_provider(self) -> None:
        """m: new workspaces go to the provider under the cursor."""
        name = self.query_one(ProvidersTable).highlighted_name()
        if name is None:
            return
        self.engine.providers.use(name)
        self.notify(f"new workspaces go to {name}")
        self.render_providers()

    def action_refresh(self) -> None:
        self.poll_status()

    def action_help(self) -> None:
        from podbay.tui.screens.help import Help

        self.push_screen(Help())

    async def action_quit(self) -> None:
        """Quit; while operations run, only after asking (they are named: quitting stops them
        where they are)."""
        if not self.operations:
            self.exit(0)
            return
        from podbay.tui.screens.confirm import quit_dialog

        dialog = quit_dialog({name: str(op) for name, op in self.operations.items()})

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit(0)

        self.push_screen(dialog, answered)


def _guess_name(source: str) -> str:
    from podbay.core import source as sources

    try:
        return sources.default_name(sources.parse(source))
    except PodbayError:
        return source


def run_tui(**kwargs: Any) -> int:
    from podbay.tui.wiring import open_engine

    PodbayApp(open_engine(origin="TUI")).run(**kwargs)
    return 0
