"""PodbayApp's base: the actions that attach to a workspace (a shell, VS Code, a port forward)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from podbay.core.errors import PodbayError
from podbay.core.model import Status, WorkspaceStatus
from podbay.tui.messages import PortsForwarded
from podbay.tui.widgets.workspace_table import WorkspaceTable

if TYPE_CHECKING:
    from podbay.core.attach import AttachRecord
    from podbay.core.engine import Engine
    from podbay.core.ssh.client import Forward
    from podbay.tui.widgets.ports_table import OpenForward


class AttachActions(App[int]):
    """Attach to the highlighted workspace; PodbayApp sets `engine` and `statuses`.

    A forward that opens is posted as PortsForwarded, for the app to show.
    """

    engine: Engine
    statuses: dict[str, WorkspaceStatus]  # from the last poll
    operations: Mapping[str, str]  # what runs, by workspace ("rebuilding")
    ssh_known: bool  # ~/.ssh/config has podbay's block
    forwards: dict[str, list[OpenForward]]  # open now, by workspace
    connecting: dict[str, set[tuple[str, int]]]  # forwards asked for, not open yet (targets)

    def _selected(self) -> tuple[str, WorkspaceStatus] | None:
        """The highlighted workspace and its last status; without one, a notification says so."""
        name = self.query_one(WorkspaceTable).selected_name()
        if name is None or name not in self.statuses:
            self.notify("Select a workspace first", severity="warning")
            return None
        return name, self.statuses[name]

    def action_shell(self) -> None:
        if (selected := self._selected()) is None:
            return
        name, status = selected
        if not self._can_enter(name, status):
            return
        argv = [sys.executable, "-m", "podbay.tui.cli", "ssh", name]
        env = {**os.environ, "PODBAY_HOME": str(self.engine.store.root)}
        with self.suspend():
            # A clear screen, not the TUI's last frame, above the shell.
            print("\x1b[H\x1b[2J", end="", flush=True)
            print(f"Attached to {name}; exit the shell to return to podbay.", flush=True)
            print(f"+ podbay ssh {name}\n", flush=True)
            started = time.monotonic()
            code = subprocess.call(argv, env=env)
            if code not in (0, 130) and time.monotonic() - started < 2:
                # It failed at once: its message stays readable until the user goes on.
                with contextlib.suppress(EOFError, OSError):
                    input(f"\nThe shell ended at once (exit code {code}). Press enter to go back. ")
        self.notify(
            f"shell in {name} exited {code}",
            severity="error" if code not in (0, 130) else "information",
        )

    def _can_enter(self, name: str, status: WorkspaceStatus) -> bool:
        """Whether a shell can start in NAME now; else a notification says why and what to do
        (in the TUI's own words)."""
        operation = self.operations.get(name)
        if operation:
            self.notify(f"{name} is busy ({operation}); try again when it ends", severity="warning")
            return False
        if status.status == Status.RUNNING:
            return True
        from podbay.tui.wording import next_step

        gone = f"; {status.detail}" if status.status == Status.NOT_FOUND else ""
        what = next_step(status.status)
        self.notify(f"{name} is {status.status}{gone}; {what}", severity="warning")
        return False

    def action_open_code(self) -> None:
        """o: the workspace's IDE (I chooses it) on its folder, over SSH."""
        from podbay.core import ide

        if (selected := self._selected()) is None:
            return
        name, status = selected
        chosen = ide.chosen(self.engine.store, name)
        if chosen == "none":
            self.notify(f"No IDE is chosen for {name}; press I to choose one", severity="warning")
            return
        if not self._can_enter(name, status):
            return
        if not status.workspace.ssh_ready:
            why = status.workspace.ssh_note or "SSH is not set up in it"
            self.notify(f"No IDE can reach {name}: {why}", severity="warning")
            return
        self._open_code(status.workspace.model_dump(), chosen)

    @work(thread=True, exit_on_error=False, group="ide")
    def _open_code(self, record: AttachRecord, chosen: str) -> None:
        from podbay.core import ide

        result = ide.open_ide(record, chosen)
        title = ide.IDES[chosen].title
        if result["opened"]:
            self.notify(f"opened {title} on {record['name']}")
        else:
            # The URL reaches NAME.podbay through ~/.ssh/config, as ssh does.
            first = "" if self.ssh_known else " (press i first)"
            command = ide.IDES[chosen].command
            missing = f"No `{command}` command here. " if command else f"For {title}: "
            self.notify(f"{missing}Open{first}: {result['url']}", timeout=20)

    def action_forward(self) -> None:
        """Ask which port to forward, proposing the first of forwardPorts not forwarded yet; a
        port already forwarded is not forwarded twice."""
        from podbay.core.ssh.client import parse_forward
        from podbay.tui.screens.prompt import Prompt
        from podbay.tui.widgets.ports_table import not_forwarded, port_text, target_of

        if (selected := self._selected()) is None:
            return
        name, status = selected
        if not self._can_enter(name, status):
            return
        open_now = self.forwards[name]
        connecting = self.connecting[name]

        def check(text: str) -> str | None:
            try:
                parse_forward(text)
            except PodbayError as exc:
                return f"{exc.message}: {exc.hint}"
            target = target_of(text)
            same = [f for f in open_now if f.target == target]
            if same:
                where = same[0].forward.url
                return f"port {port_text(same[0].target)} is forwarded already, at {where}"
            if target in connecting:
                return f"port {port_text(target)} is being forwarded already"
            return None

        def chosen(text: str | None) -> None:
            target = target_of(text) if text else None
            if text and target is not None:
                connecting.add(target)
                self._forward(name, status.workspace.model_dump(), text, target)

        left = [
            spec
            for spec in not_forwarded(status.workspace.forward_ports, open_now)
            if target_of(spec) not in connecting
        ]
        question = f"Forward a port of {name} to 127.0.0.1"
        proposed = str(left[0]) if left else ""
        self.push_screen(Prompt(question, "PORT or PORT:LOCAL", check, proposed), chosen)

    @work(exit_on_error=False, group="forward")
    async def _forward(
        self, name: str, record: AttachRecord, spec: str, target: tuple[str, int]
    ) -> None:
        from textual.worker import get_current_worker

        from podbay.tui import forwarding

        worker = get_current_worker()

        def opened(forwards: list[Forward]) -> None:
            self.connecting[name].discard(target)
            self.post_message(PortsForwarded(name, forwards, worker))

        try:
            conn = await forwarding.connect(self.engine.store.root, name, record)
            await forwarding.serve_forwards(conn, [spec], opened)
        except PodbayError as exc:
            self.notify(f"{exc.message}\n{exc.hint}", title="forward failed", severity="error")
        finally:
            self.connecting[name].discard(target)  # (failed or ended before it opened)
