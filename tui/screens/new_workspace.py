"""`n`: a new workspace from a folder, git URL, image or template, on a chosen provider."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from podbay.core import templates
from podbay.core.engine import UpRequest
from podbay.core.errors import PodbayError
from podbay.core.source import check_name


class NewWorkspace(ModalScreen[UpRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "create", "Create"),
    ]
    AUTO_FOCUS = "#source"

    def __init__(self, provider_names: list[str], default_provider: str | None) -> None:
        super().__init__()
        self.provider_names = provider_names
        self.default_provider = default_provider

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("New workspace", id="question")
            yield Label("Source: a folder, git URL[@branch], image, or pick a template")
            yield Input(placeholder="~/code/project  or  https://host/repo.git@main", id="source")
            yield Select(
                [(f"{t.name}  ({t.title})", t.name) for t in templates.all_templates()],
                prompt="Template…",
                id="template",
            )
            yield Label("Name (optional)")
            yield Input(placeholder="from the source", id="name")
            yield Label("Provider")
            yield Select(
                [(name, name) for name in self.provider_names],
                value=self.default_provider or Select.BLANK,
                id="provider",
            )
            yield Static("", id="error", classes="field-error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "template" and event.value is not Select.BLANK:
            self.query_one("#source", Input).value = f"template:{event.value}"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.action_create()

    def on_input_submitted(self) -> None:
        self.action_create()

    def action_create(self) -> None:
        source = self.query_one("#source", Input).value.strip()
        name = self.query_one("#name", Input).value.strip() or None
        provider = self.query_one("#provider", Select).value
        error = self.query_one("#error", Static)
        if not source:
            error.update("a source is needed")
            return
        if name:
            try:
                check_name(name)
            except PodbayError as exc:
                error.update(f"{exc.message} ({exc.hint})")
                return
        self.dismiss(
            UpRequest(
                source=source,
                name=name,
                provider=None if provider is Select.BLANK else str(provider),
            )
        )
