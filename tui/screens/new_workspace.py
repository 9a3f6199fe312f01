"""`n`: a new workspace from a folder, git URL, image or template, on a chosen provider."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from podbay.core import templates
from podbay.core.devcontainer import find
from podbay.core.engine import UpRequest
from podbay.core.errors import PodbayError
from podbay.core.source import check_name
from podbay.core.source import parse as parse_source


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
            # Shown when the folder has configs in several folders of .devcontainer.
            yield Label("Config", id="config-label", classes="hidden")
            yield Select[str]([], prompt="Choose a config…", id="config", classes="hidden")
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
        chosen = self.query_one("#config", Select).value
        config = chosen if isinstance(chosen, str) else None
        if config is None and self._ask_config(source):
            error.update("this folder has several configs: choose one")
            return
        self.dismiss(
            UpRequest(
                source=source,
                name=name,
                provider=None if provider is Select.BLANK else str(provider),
                config=config,
            )
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "source":  # another folder: its configs are asked for anew
            picker = self.query_one("#config", Select)
            if not picker.has_class("hidden"):
                picker.set_options([])
                picker.add_class("hidden")
                self.query_one("#config-label").add_class("hidden")
                self.query_one("#error", Static).update("")

    def _ask_config(self, source: str) -> bool:
        """Show the configs to choose from when the spec's order does not pick one."""
        try:
            parsed = parse_source(source)
            found = find.choices(Path(parsed.value)) if parsed.kind == "folder" else []
        except (PodbayError, OSError):
            return False  # the up says what is wrong with the source
        if not found:
            return False
        picker = self.query_one("#config", Select)
        picker.set_options([(path, path) for path in found])
        picker.remove_class("hidden")
        self.query_one("#config-label").remove_class("hidden")
        picker.focus()
        return True
