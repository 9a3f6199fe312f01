"""Add or edit a provider: a form GENERATED from the provider type's pydantic options model.

str and number fields become inputs, bools switches, Literal choices selects; field descriptions
are the help text; each field is validated as it is typed; "Test connection" runs the provider's
own check before anything is saved.
"""

from __future__ import annotations

import json
import types
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, Switch

from podbay import providers
from podbay.core.devcontainer.values import WORKSPACE_NAME
from podbay.core.errors import PodbayError
from podbay.core.model import ProviderConfig


def _plain(annotation: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def field_widget(name: str, field: FieldInfo, value: Any) -> Widget:
    kind = _plain(field.annotation)
    widget_id = f"opt-{name}"
    if kind is bool:
        return Switch(value=bool(value if value is not None else field.default), id=widget_id)
    if get_origin(kind) is Literal:
        choices = [(str(c), c) for c in get_args(kind)]
        current = value if value is not None else field.default
        return Select(choices, value=current if current is not None else Select.BLANK, id=widget_id)
    input_type: Literal["integer", "number", "text"] = (
        "integer" if kind is int else "number" if kind is float else "text"
    )
    if get_origin(kind) is dict:
        # Mappings (e.g. tags) are typed as JSON.
        text = json.dumps(value) if value else ""
        return Input(text, placeholder='JSON, e.g. {"team": "web"}', id=widget_id)
    text = "" if value is None else str(value)
    placeholder = "" if field.default in (None, "") else f"default: {field.default}"
    return Input(text, placeholder=placeholder, type=input_type, id=widget_id)


def field_value(widget: Widget) -> Any:
    if isinstance(widget, Switch):
        return widget.value
    if isinstance(widget, Select):
        return None if widget.value is Select.BLANK else widget.value
    if isinstance(widget, Input):
        text = widget.value.strip()
        if text.startswith("{"):
            try:
                return json.loads(text)
            except ValueError:
                return text  # validation says what is wrong
        return text or None
    return None


class ProviderForm(ModalScreen[ProviderConfig | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, existing: ProviderConfig | None, taken_names: set[str]) -> None:
        super().__init__()
        self.existing = existing
        self.taken_names = taken_names - ({existing.name} if existing else set())
        self.type_name = existing.type if existing else "docker"

    def compose(self) -> ComposeResult:
        title = f"Edit provider {self.existing.name}" if self.existing else "Add a provider"
        with Vertical(id="dialog"):
            yield Static(title, id="question")
            with VerticalScroll(id="form"):
                yield Label("Type")
                yield Select(
                    [(t, t) for t in sorted(providers.TYPES)],
                    value=self.type_name,
                    allow_blank=False,
                    disabled=self.existing is not None,
                    id="type",
                )
                yield Label("Name")
                yield Input(
                    self.existing.name if self.existing else self.type_name,
                    disabled=self.existing is not None,
                    id="name",
                )
                yield Static("", id="error-name", classes="field-error")
                yield Vertical(id="fields")
            yield Static("", id="check-result")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Test connection", id="test")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.build_fields()

    def options_model(self) -> Any:
        return providers.provider_class(self.type_name).Options

    def build_fields(self) -> None:
        box = self.query_one("#fields", Vertical)
        box.remove_children()
        current = self.existing.options if self.existing else {}
        for name, field in self.options_model().model_fields.items():
            box.mount(Label(name, classes="field-label"))
            if field.description:
                box.mount(Static(field.description, classes="field-help"))
            box.mount(field_widget(name, field, current.get(name)))
            box.mount(Static("", id=f"error-{name}", classes="field-error"))
        self.load_suggestions(self.type_name)

    @work(exclusive=True, group="suggestions", exit_on_error=False)
    async def load_suggestions(self, type_name: str) -> None:
        """Values the provider offers (listed live where it can) become completions."""
        cls = providers.provider_class(type_name)
        for name in self.options_model().model_fields:
            values = await cls.suggestions(name)
            widget = self.query(f"#opt-{name}")
            if values and widget and isinstance(widget.first(), Input):
                widget.first(Input).suggester = SuggestFromList(values, case_sensitive=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "type" and event.value != self.type_name:
            name = self.query_one("#name", Input)
            if name.value == self.type_name:  # still the default: follow the type
                name.value = str(event.value)
            self.type_name = str(event.value)
            self.build_fields()

    def on_input_changed(self, event: Input.Changed) -> None:
        widget_id = event.input.id or ""
        if widget_id.startswith("opt-"):
            self.check_field(widget_id.removeprefix("opt-"))
        elif widget_id == "name":
            self.check_name()

    def check_field(self, name: str) -> bool:
        model = self.options_model()
        value = field_value(self.query_one(f"#opt-{name}"))
        message = ""
        if value is not None:
            try:
                # One field with all of its rules (bounds, validators), without the others.
                model.__pydantic_validator__.validate_assignment(
                    model.model_construct(), name, value
                )
            except ValidationError as exc:
                message = exc.errors()[0]["msg"]
        self.query_one(f"#error-{name}", Static).update(message)
        return not message

    def check_name(self) -> bool:
        name = self.query_one("#name", Input).value.strip()
        message = ""
        if not name:
            message = "a name is needed"
        elif not WORKSPACE_NAME.fullmatch(name):
            message = "lower-case letters, digits and '-'"
        elif name in self.taken_names:
            message = f"a provider named {name} exists"
        self.query_one("#error-name", Static).update(message)
        return not message

    def collected(self) -> ProviderConfig | None:
        """The config from the form, or None after showing what is wrong."""
        fields = list(self.options_model().model_fields)
        ok = all([self.check_name(), *(self.check_field(name) for name in fields)])
        if not ok:
            return None
        options = {
            name: value
            for name in fields
            if (value := field_value(self.query_one(f"#opt-{name}"))) is not None
        }
        config = ProviderConfig(
            name=self.query_one("#name", Input).value.strip(), type=self.type_name, options=options
        )
        try:
            providers.load(config)
        except PodbayError as exc:
            self.query_one("#check-result", Static).update(f"✗ {exc.message}")
            return None
        return config

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "save":
            self.action_save()
        elif event.button.id == "test":
            config = self.collected()
            if config is not None:
                self.query_one("#check-result", Static).update("testing…")
                self.run_check(config)

    def action_save(self) -> None:
        config = self.collected()
        if config is not None:
            self.dismiss(config)

    @work(exclusive=True, group="check", exit_on_error=False)
    async def run_check(self, config: ProviderConfig) -> None:
        try:
            result = await providers.load(config).check()
            text = f"✓ {result}"
        except PodbayError as exc:
            text = f"✗ {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        self.query_one("#check-result", Static).update(text)
