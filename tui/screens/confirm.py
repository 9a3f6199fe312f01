"""A confirmation for destructive actions: names the target, focus starts on Cancel."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


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
