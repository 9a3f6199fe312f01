"""The Details tab: the selected workspace's status, drawn again whenever it is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.reactive import reactive
from textual.widgets import Static

from podbay.core.model import age_text, machine_text
from podbay.tui.wording import for_tui, next_step

if TYPE_CHECKING:
    from podbay.core.model import WorkspaceStatus

NO_WORKSPACES = "No workspaces yet. Press n to create one (a folder, git URL, image or template)."
NO_SELECTION = "No workspace selected. Press n to create one."


class WorkspaceDetails(Static):
    """Redrawn whenever `status` is set (even to the same value) or what it shows with it changes.

    Empty until the app first sets it; text from elsewhere is never read as markup.
    """

    status: reactive[WorkspaceStatus | None] = reactive(None, init=False, always_update=True)
    operation: reactive[str | None] = reactive(None, init=False)  # what runs on it: "stopping"
    any_workspaces: reactive[bool] = reactive(False, init=False)  # which empty text to show
    no_match: reactive[str] = reactive("", init=False)  # a filter that hides every workspace
    ssh_known: reactive[bool] = reactive(True, init=False)  # ~/.ssh/config has podbay's block
    last_used: float | None = None  # when it was last used (set with the status)
    room: str = ""  # its room's summary, when it is one of a room (set with the status)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._shown = ""

    def show(self, text: str) -> None:
        """Draw again only what changed: a poll that changes nothing writes nothing."""
        if text != self._shown:
            self._shown = text
            self.update(text)

    def watch_status(self, status: WorkspaceStatus | None) -> None:
        if status is None and self.no_match:
            self.show(
                f"No workspace matches {self.no_match!r} (its name, source, provider or status). "
                "Press esc in the filter to clear it."
            )
        elif status is None:
            self.show(NO_SELECTION if self.any_workspaces else NO_WORKSPACES)
        else:
            lines = _lines(status, self.operation, self.ssh_known)
            if self.last_used is not None:
                lines.insert(4, f"used:      {age_text(self.last_used)} ago")
            if self.room:
                prefix = self.room.split(" ")[0]
                lines.insert(
                    2, f"room:      {self.room} (remove all: podbay delete --prefix {prefix})"
                )
            self.show("\n".join(lines))

    def watch_operation(self) -> None:
        self.watch_status(self.status)

    def watch_any_workspaces(self) -> None:
        self.watch_status(self.status)

    def watch_no_match(self) -> None:
        self.watch_status(self.status)

    def watch_ssh_known(self) -> None:
        self.watch_status(self.status)


def _lines(status: WorkspaceStatus, operation: str | None, ssh_known: bool = True) -> list[str]:
    ws = status.workspace
    if not ws.ssh_ready:
        ssh_note = f"  (unavailable: {ws.ssh_note or 'not set up'})"
    elif not ssh_known:
        ssh_note = "  (press i first: ssh finds NAME.podbay through ~/.ssh/config)"
    else:
        ssh_note = ""
    lines = [
        f"{ws.name}  ({status.status}{', ' + operation if operation else ''})",
        f"provider:  {ws.provider}",
        f"source:    {ws.source.display()}",
        f"folder:    {ws.workspace_folder or '-'}   user: {ws.remote_user or 'root'}",
        f"ssh:       ssh {ws.name}.podbay{ssh_note}",
    ]
    if status.machine:
        lines.append(f"machine:   {machine_text(status.machine)}")
    if status.detail:
        fix = f"; {next_step(status.status)}" if status.fix else ""
        lines.append(f"note:      {for_tui(status.detail)}{fix}")
    if status.changed:
        lines.append(
            f"config:    * changed since the container was made ({', '.join(status.changed)});"
            " press r to rebuild"
        )
    return lines
