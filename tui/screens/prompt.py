"""A one-line question (e.g. which port to forward) with inline validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class Prompt(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self,
        question: str,
        placeholder: str,
        check: Callable[[str], str | None],
        value: str = "",
    ) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.check = check  # returns an error message, or None when the answer is good
        self.value = value  # proposed answer

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            yield Input(self.value, placeholder=self.placeholder, id="answer")
            yield Static("", id="error", classes="field-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = self.check(event.value.strip())
        if problem:
            self.query_one("#error", Static).update(problem)
            return
        self.dismiss(event.value.strip())
