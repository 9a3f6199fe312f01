"""Messages workers post to the app; handlers on the app own all widget state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from textual.worker import Worker

    from podbay.core.model import Event
    from podbay.core.ssh.client import Forward
    from podbay.core.status import PollResult
    from podbay.tui.operations import Operation


class StatusPolled(Message):
    """A background poll finished."""

    def __init__(self, result: PollResult | None, error: str = "") -> None:
        super().__init__()
        self.result = result
        self.error = error


class OperationEvent(Message):
    def __init__(self, name: str, event: Event) -> None:
        super().__init__()
        self.name = name
        self.event = event


class OperationFinished(Message):
    def __init__(self, name: str, operation: Operation, error: str = "", hint: str = "") -> None:
        super().__init__()
        self.name = name
        self.operation = operation
        self.error = error
        self.hint = hint


class PortsForwarded(Message):
    def __init__(self, name: str, forwards: list[Forward], worker: Worker[Any]) -> None:
        super().__init__()
        self.name = name
        self.forwards = forwards
        self.worker = worker  # whose connection carries them


class DeleteChecked(Message):
    """What deleting a workspace would lose, checked before the dialog asks."""

    def __init__(self, name: str, lost: list[str]) -> None:
        super().__init__()
        self.name = name
        self.lost = lost


class ProviderChecked(Message):
    """A provider's connection test finished (for one with nothing to poll)."""

    def __init__(self, name: str, options: str, error: str | None) -> None:
        super().__init__()
        self.name = name
        self.options = options  # the options it was tested with (an edit tests again)
        self.error = error


class ContainerOutput(Message):
    """Lines a workspace's container printed (`docker logs --follow`), for the Logs tab."""

    def __init__(self, name: str, lines: list[str]) -> None:
        super().__init__()
        self.name = name
        self.lines = lines
