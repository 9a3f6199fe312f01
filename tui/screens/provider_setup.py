"""Add or edit a provider, step by step: 1 its type, 2 what it requires, 3 its optional settings
in collapsible groups, 4 a connection test, then save (after asking, when the test failed).

The form is generated from the provider type's pydantic options model: str and number fields
become inputs, bools switches, Literal choices selects, descriptions the help text, and each
field's `group` (json_schema_extra) places it. Each field is validated as it is typed; values
the provider can list (regions, profiles; with the region and credentials known: instance
types with their price, VPCs, subnets, zones) are offered as completions and listed under it.
"""

from __future__ import annotations

import asyncio
import json
import types
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import (
    Button,
    Collapsible,
    ContentSwitcher,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    Switch,
)
from textual.widgets.option_list import Option

from podbay import providers
from podbay.core.devcontainer.values import WORKSPACE_NAME
from podbay.core.errors import PodbayError
from podbay.core.model import ProviderConfig
from podbay.tui.wording import for_tui

STEPS = ("type", "required", "optional", "test")
STEP_TITLES = {
    "type": "its type",
    "required": "what it needs",
    "optional": "optional settings",
    "test": "test, then save",
}
FIRST_GROUP = "Account"  # asked with the required options (step 2)
CHOICES_SHOWN = 8
# Options whose value changes what the provider can list for the others.
CHOICES_DEPEND_ON = {"region", "profile", "vpc_id", "host"}


@dataclass(frozen=True)
class SetupResult:
    config: ProviderConfig
    make_default: bool


def _plain(annotation: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def group_of(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    group = extra.get("group") if isinstance(extra, dict) else None
    return group if isinstance(group, str) else "Settings"


def asked_first(field: FieldInfo) -> bool:
    """On step 2: required, or in the first group (an AWS profile, with the region)."""
    return field.is_required() or group_of(field) == FIRST_GROUP


def message_of(exc: ValidationError) -> str:
    """Pydantic's message without its own prefixes ("Value error, ...")."""
    text = str(exc.errors()[0]["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return text


def unique_name(base: str, taken: set[str]) -> str:
    """BASE, else BASE-2, BASE-3, ...: a name no provider has."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def field_widget(name: str, field: FieldInfo, value: Any) -> Widget:
    kind = _plain(field.annotation)
    widget_id = f"opt-{name}"
    default = None if field.is_required() else field.get_default(call_default_factory=True)
    if kind is bool:
        return Switch(
            value=bool(value if value is not None else default), id=widget_id, classes="setup-field"
        )
    if get_origin(kind) is Literal:
        choices = [(str(c), c) for c in get_args(kind)]
        current = value if value is not None else default
        shown = current if current is not None else Select.BLANK
        return Select(choices, value=shown, id=widget_id, classes="setup-field")
    input_type: Literal["integer", "number", "text"] = (
        "integer" if kind is int else "number" if kind is float else "text"
    )
    if get_origin(kind) is dict:
        # Mappings (e.g. tags) are typed as JSON.
        text = json.dumps(value) if value else ""
        return Input(
            text, placeholder='JSON, e.g. {"team": "web"}', id=widget_id, classes="setup-field"
        )
    text = "" if value is None else str(value)
    if field.is_required():
        placeholder = "required"
    elif default in (None, "", {}):
        placeholder = ""
    else:
        placeholder = f"default: {default}"
    return Input(
        text, placeholder=placeholder, type=input_type, id=widget_id, classes="setup-field"
    )


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


def say(line: Static, text: str) -> None:
    """A message line under a field: shown with text, taking no room without."""
    line.update(text)
    line.display = bool(text)


def _key(config: ProviderConfig) -> str:
    """What a connection test tested: the name, type and options (not when it was made)."""
    return json.dumps([config.name, config.type, config.options], sort_keys=True, default=str)


def _field_block(name: str, field: FieldInfo, value: Any) -> list[Widget]:
    block: list[Widget] = [Label(name, classes="field-label")]
    if field.description:
        block.append(Static(field.description, classes="field-help", markup=False))
    block.append(field_widget(name, field, value))
    block.append(Static("", id=f"choices-{name}", classes="field-help field-choices", markup=False))
    block.append(Static("", id=f"error-{name}", classes="field-error", markup=False))
    return block


class ProviderSetup(ModalScreen[SetupResult | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Test and save"),
    ]

    def __init__(
        self, existing: ProviderConfig | None, taken_names: set[str], is_default: bool = False
    ) -> None:
        super().__init__()
        self.existing = existing
        self.taken_names = taken_names - ({existing.name} if existing else set())
        self.type_name = existing.type if existing else next(iter(providers.TYPES))
        self.step = "required" if existing else "type"
        self.is_default = is_default  # (an edited provider that is the default stays so)
        self.first_provider = not taken_names
        # The last connection test: (the config it tested, as JSON; its error or None).
        self.tested: tuple[str, str | None] | None = None
        # What the test learned, by the config it tested (an SSH machine's host key, once
        # confirmed here): what is saved.
        self.prepared: dict[str, ProviderConfig] = {}
        self.save_after_test = False

    # layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("", id="question", markup=False)
            with ContentSwitcher(initial=f"step-{self.step}", id="steps"):
                with Vertical(id="step-type"):
                    yield Static("What kind of provider?", classes="field-help")
                    yield OptionList(
                        *(
                            Option(f"{name}: {providers.provider_class(name).description}", id=name)
                            for name in providers.TYPES
                        ),
                        id="types",
                    )
                yield VerticalScroll(id="step-required", classes="setup-form")
                yield VerticalScroll(id="step-optional", classes="setup-form")
                with Vertical(id="step-test"):
                    yield Static("", id="check-result", markup=False)
                    with Horizontal(id="default-row"):
                        yield Switch(
                            value=self.first_provider or self.is_default, id="make-default"
                        )
                        yield Label("Use it for new workspaces (the default provider)")
            yield Static("", id="step-error", classes="field-error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Back", id="back")
                yield Button("Test again", id="test-again")
                yield Button("Next", id="next", variant="primary")
                yield Button("Save", id="save", variant="primary")

    async def on_mount(self) -> None:
        if self.existing is not None:
            await self.build_fields()
        self.show_step(self.step)

    def options_model(self) -> Any:
        return providers.provider_class(self.type_name).Options

    async def build_fields(self) -> None:
        """The name and the options of the chosen type, on steps 2 and 3 (those of a type
        chosen before are gone first: the new fields have the same ids)."""
        current = self.existing.options if self.existing else {}
        required = self.query_one("#step-required", VerticalScroll)
        optional = self.query_one("#step-optional", VerticalScroll)
        await required.remove_children()
        await optional.remove_children()
        name = (
            self.existing.name if self.existing else unique_name(self.type_name, self.taken_names)
        )
        first: list[Widget] = [
            Label("Name", classes="field-label"),
            Input(name, disabled=self.existing is not None, id="name"),
            Static("", id="error-name", classes="field-error"),
        ]
        groups: dict[str, list[Widget]] = {}
        for option, field in self.options_model().model_fields.items():
            block = _field_block(option, field, current.get(option))
            if asked_first(field):
                first.extend(block)
            else:
                groups.setdefault(group_of(field), []).extend(block)
        if len(first) == 3:
            first.append(
                Static("Nothing else is needed; optional settings come next.", classes="field-help")
            )
        await required.mount_all(first)
        order = list(self.options_model().GROUPS)
        ordered = sorted(groups, key=lambda g: order.index(g) if g in order else len(order))
        optional.mount_all(
            Collapsible(*groups[group], title=group, collapsed=index > 0, id=f"group-{group}")
            for index, group in enumerate(ordered)
        )

    # steps ---------------------------------------------------------------------------------

    def show_step(self, step: str) -> None:
        self.step = step
        self.query_one("#steps", ContentSwitcher).current = f"step-{step}"
        number = STEPS.index(step) + 1
        what = f"Edit provider {self.existing.name}" if self.existing else "Add a provider"
        self.query_one("#question", Static).update(
            f"{what}: step {number} of {len(STEPS)}, {STEP_TITLES[step]}"
        )
        first = "required" if self.existing else "type"
        self.query_one("#back").display = step != first
        self.query_one("#next").display = step != "test"
        self.query_one("#save").display = step == "test"
        self.query_one("#test-again").display = step == "test"
        say(self.query_one("#step-error", Static), "")
        if step in ("type", "test"):
            self._focus_step()  # at once: keys typed next go there (their widgets exist)
        else:
            self.call_after_refresh(self._focus_step)  # (once the fields are composed)
        if step in ("required", "optional"):
            # Completions for the fields shown (a group composes its fields once shown).
            self.call_after_refresh(self.load_suggestions, self.type_name)

    def _focus_step(self) -> None:
        if self.step == "type":
            self.set_focus(self.query_one("#types", OptionList))
        elif self.step == "test":
            self.set_focus(self.query_one("#save", Button))
        else:
            box = self.query_one(f"#step-{self.step}")
            for widget in box.query("Input, Select, Switch, CollapsibleTitle"):
                if widget.focusable:
                    widget.focus()
                    return

    async def action_next(self) -> None:
        if self.step == "type":
            chosen = self.query_one("#types", OptionList).highlighted_option
            await self.choose_type(str(chosen.id) if chosen else self.type_name)
        elif self.step == "required":
            names = [n for n, f in self.options_model().model_fields.items() if asked_first(f)]
            if all([self.check_name(), *(self.check_field(n) for n in names)]):
                self.show_step("optional")
                self.load_choices()
        elif self.step == "optional" and self.collected() is not None:
            self.show_step("test")
            self.start_test()

    def action_back(self) -> None:
        index = STEPS.index(self.step)
        if index > (1 if self.existing else 0):
            self.show_step(STEPS[index - 1])

    @on(OptionList.OptionSelected, "#types")
    async def _type_chosen(self, event: OptionList.OptionSelected) -> None:
        await self.choose_type(str(event.option.id))

    async def choose_type(self, type_name: str) -> None:
        if type_name != self.type_name or not self.query("#name"):
            self.type_name = type_name
            await self.build_fields()
        self.show_step("required")

    # fields --------------------------------------------------------------------------------

    @work(exclusive=True, group="suggestions", exit_on_error=False)
    async def load_suggestions(self, type_name: str) -> None:
        """Values the provider offers (listed live where it can) become completions."""
        cls = providers.provider_class(type_name)
        for name in self.options_model().model_fields:
            values = await cls.suggestions(name)
            widget = self.query(f"#opt-{name}")
            if values and widget and isinstance(widget.first(), Input):
                widget.first(Input).suggester = SuggestFromList(values, case_sensitive=False)

    @work(exclusive=True, group="choices", exit_on_error=False)
    async def load_choices(self) -> None:
        """What the provider can list with the options given so far (instance types and their
        price, VPCs, subnets): completions, and a line under each field."""
        await asyncio.sleep(0.3)  # typing goes on: ask once it pauses (a newer call cancels)
        options = self.current_options(valid_only=True)
        try:
            provider = providers.load(
                ProviderConfig(name="setup", type=self.type_name, options=options)
            )
        except PodbayError:
            return  # not enough known yet
        for name in self.options_model().model_fields:
            found = await provider.choices(name)
            if not found or not self.query(f"#opt-{name}"):
                continue
            widget = self.query_one(f"#opt-{name}")
            if isinstance(widget, Input):
                widget.suggester = SuggestFromList([v for v, _ in found], case_sensitive=False)
            labels = [label for _, label in found[:CHOICES_SHOWN]]
            more = f" (and {len(found) - CHOICES_SHOWN} more)" if len(found) > CHOICES_SHOWN else ""
            say(self.query_one(f"#choices-{name}", Static), "choices: " + " · ".join(labels) + more)

    def current_options(self, valid_only: bool = False) -> dict[str, Any]:
        options = {}
        for name in self.options_model().model_fields:
            if not self.query(f"#opt-{name}"):
                continue
            value = field_value(self.query_one(f"#opt-{name}"))
            if value is not None and (not valid_only or self._field_error(name, value) is None):
                options[name] = value
        return options

    def on_input_changed(self, event: Input.Changed) -> None:
        widget_id = event.input.id or ""
        if widget_id.startswith("opt-"):
            name = widget_id.removeprefix("opt-")
            self.check_field(name)
            if name in CHOICES_DEPEND_ON and self.step != "type":
                self.load_choices()
        elif widget_id == "name":
            self.check_name()

    async def on_input_submitted(self) -> None:
        if self.step == "test":
            await self.action_save()
        else:
            await self.action_next()

    def _field_error(self, name: str, value: Any) -> str | None:
        model = self.options_model()
        try:
            # One field with all of its rules (bounds, validators), without the others.
            model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
        except ValidationError as exc:
            return message_of(exc)
        return None

    def check_field(self, name: str) -> bool:
        field = self.options_model().model_fields[name]
        value = field_value(self.query_one(f"#opt-{name}"))
        if value is None:
            message = "required" if field.is_required() else ""
        else:
            message = self._field_error(name, value) or ""
        say(self.query_one(f"#error-{name}", Static), message)
        if message and not asked_first(field):
            self.query_one(f"#group-{group_of(field)}", Collapsible).collapsed = False
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
        say(self.query_one("#error-name", Static), message)
        return not message

    def collected(self) -> ProviderConfig | None:
        """The config from the form, or None after showing what is wrong (on its step)."""
        fields = self.options_model().model_fields
        name_ok = self.check_name()
        bad = [name for name in fields if not self.check_field(name)]
        if not name_ok or any(asked_first(fields[name]) for name in bad):
            self.show_step("required")
            return None
        if bad:
            self.show_step("optional")
            say(self.query_one("#step-error", Static), f"check: {', '.join(bad)}")
            return None
        config = ProviderConfig(
            name=self.query_one("#name", Input).value.strip(),
            type=self.type_name,
            options=self.current_options(),
        )
        try:
            providers.load(config)
        except PodbayError as exc:
            say(self.query_one("#step-error", Static), exc.message)
            return None
        return config

    # test and save -------------------------------------------------------------------------

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "cancel":
            self.dismiss(None)
        elif button == "back":
            self.action_back()
        elif button == "next":
            await self.action_next()
        elif button == "test-again":
            self.start_test()
        elif button == "save":
            await self.action_save()

    def start_test(self) -> None:
        config = self.collected()
        if config is None:
            return
        self.tested = None
        self.query_one("#check-result", Static).update("testing the connection…")
        self.run_test(config)

    @work(exclusive=True, group="check", exit_on_error=False)
    async def run_test(self, config: ProviderConfig) -> None:
        try:
            prepared = await self._prepared(config)
            result = await providers.load(prepared).check()
            error, text = None, f"✓ {result}"
        except PodbayError as exc:
            error = for_tui(exc.message + (f" ({exc.hint})" if exc.hint else ""))
            text = f"✗ {error}"
        except Exception as exc:  # a test that breaks says so; the screen never waits forever
            error = f"the test failed: {type(exc).__name__}: {exc}"
            text = f"✗ {error}"
        self.tested = (_key(config), error)
        self.query_one("#check-result", Static).update(text)
        if self.save_after_test:
            self.save_after_test = False
            await self.action_save()

    async def _prepared(self, config: ProviderConfig) -> ProviderConfig:
        """The config with what the provider learns when added (core Provider.prepare): an
        SSH machine's host key is shown here, and kept only when the user trusts it."""
        from podbay.tui.screens.confirm import Confirm

        async def confirm(title: str, items: list[str]) -> bool:
            detail = "\n".join(f"  • {item}" for item in items)
            dialog: Any = Confirm(title, detail, "Trust it")  # (Textual types it Screen[object])
            return bool(await self.app.push_screen_wait(dialog))

        engine = getattr(self.app, "engine", None)
        install_id = engine.store.install_id() if engine is not None else "podbay"
        options = await providers.load(config).prepare(confirm, install_id)
        prepared = config.model_copy(update={"options": options})
        self.prepared[_key(config)] = prepared
        return prepared

    async def action_save(self) -> None:
        """Save what passed its test; after a failed test, only if the user says so."""
        if self.step == "type":
            await self.action_next()  # (the type first: its fields are not there yet)
            return
        if self.step != "test":
            if self.collected() is not None:
                self.show_step("test")
                self.save_after_test = True
                self.start_test()
            return
        config = self.collected()
        if config is None:
            return
        if self.tested is None or self.tested[0] != _key(config):
            self.save_after_test = True  # tested first
            if self.tested is not None:
                self.start_test()
            return
        config = self.prepared.get(_key(config), config)
        result = SetupResult(config, self.query_one("#make-default", Switch).value)
        error = self.tested[1]
        if error is None:
            self.dismiss(result)
            return
        from podbay.tui.screens.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(result)

        self.app.push_screen(
            Confirm(
                f"The connection test of {config.name} failed. Save it anyway?",
                f"{error}\nWorkspaces on it will fail the same way until it is fixed.",
                "Save anyway",
            ),
            answered,
        )
