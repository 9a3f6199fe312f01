"""Lifecycle operations the TUI runs on a workspace: their words and engine calls in one place."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podbay.core.consent import Confirm
    from podbay.core.engine import Engine, UpRequest
    from podbay.core.reporter import EventSink


class Operation(StrEnum):
    """A running operation; its value is the word the table, the log and notifications show."""

    CREATING = "creating"
    STARTING = "starting"
    REBUILDING = "rebuilding"
    STOPPING = "stopping"
    DELETING = "deleting"

    @property
    def is_up(self) -> bool:
        """Runs `up`: interrupted, it leaves the workspace Incomplete."""
        return self in (Operation.CREATING, Operation.STARTING, Operation.REBUILDING)

    @property
    def outcome(self) -> str:
        """What a success notification says after the name: `web is running`."""
        return _OUTCOMES[self]

    async def run(
        self,
        engine: Engine,
        name: str,
        on_event: EventSink,
        confirm: Confirm,
        request: UpRequest | None = None,
        force: bool = False,
    ) -> None:
        """Run it with the engine; `request` is the new workspace's (creating), `force` deletes
        work the user was shown and accepted to lose."""
        if self is Operation.STOPPING:
            await engine.stop(name, on_event)
        elif self is Operation.DELETING:
            await engine.delete(name, on_event, force=force)
        else:
            from podbay.core.engine import UpRequest

            rebuild = self is Operation.REBUILDING
            await engine.up(request or UpRequest(name=name, rebuild=rebuild), on_event, confirm)


_OUTCOMES = {
    Operation.CREATING: "is running",
    Operation.STARTING: "is running",
    Operation.REBUILDING: "is rebuilt",
    Operation.STOPPING: "is stopped",
    Operation.DELETING: "is deleted",
}
