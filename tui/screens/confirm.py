"""A confirmation for destructive actions: names the target, focus starts on Cancel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

if TYPE_CHECKING:
    from podbay.core.model import Workspace


class Confirm(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, title: str, detail: str, confirm_label: str) -> None:
        super().__init__()
        self.title_text = title
        self.detail = detail
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # Names and paths are shown as they are, never read as markup.
            yield Static(self.title_text, id="question", markup=False)
            yield Static(self.detail, id="detail", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel [n]", id="cancel")
                yield Button(f"{self.confirm_label} [y]", id="confirm", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


def quit_dialog(operations: Mapping[str, str]) -> Confirm:
    """Quitting stops the operations where they are: named, and how to finish them later."""
    running = "\n".join(f"  {name}: {operation}" for name, operation in operations.items())
    return Confirm(
        f"Quit while {len(operations)} operation(s) run?",
        f"{running}\nThey stop where they are. Press u on such a workspace later to finish it.",
        "Quit",
    )


def rebuild_dialog(name: str) -> Confirm:
    return Confirm(
        f"Rebuild workspace {name}?",
        "Its container is removed and created again; the source and named volumes stay.",
        "Rebuild",
    )


def delete_dialog(ws: Workspace, lost: list[str]) -> Confirm:
    """Says what goes and what stays, and lists the work that would be lost (if any)."""
    kept = (
        f"podbay's copy of the source ({ws.folder}) is removed too."
        if ws.owned_folder
        else f"Your folder {ws.folder} is kept."
    )
    detail = f"Its container, keys and state are removed. {kept}"
    if lost:
        detail += "\n\nThis work would be lost:\n" + "\n".join(f"  • {item}" for item in lost)
    return Confirm(
        f"Delete workspace {ws.name} ({ws.provider})?",
        detail,
        "Delete anyway" if lost else "Delete",
    )


def consent_dialog(title: str, items: list[str]) -> Confirm:
    """What a source from elsewhere asks beyond its container (core.consent)."""
    detail = "\n".join(f"  • {item}" for item in items) + "\n\nAllowed once, it is remembered."
    return Confirm(title, detail, "Allow")
