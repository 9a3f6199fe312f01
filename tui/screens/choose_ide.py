"""`I`: which IDE `o` opens for a workspace: one of core.ide's, none, or the default."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from podbay.core import ide


class ChooseIde(ModalScreen[str | None]):
    """Dismissed with an IDE id, "default", or None (cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, name: str, own: str | None, default: str) -> None:
        super().__init__()
        self.workspace = name
        self.own = own  # its own choice; None: it follows the default
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Which IDE does o open for {self.workspace}?", id="question")
            default_title = ide.IDES[self.default].title
            options = [Option(f"the default ({default_title})", id="default")]
            for choice in ide.IDES.values():
                title = "None: o opens nothing" if choice.id == "none" else choice.title
                if choice.id == "jetbrains":
                    title += " (any JetBrains IDE, through Gateway)"
                options.append(Option(title, id=choice.id))
            yield OptionList(*options, id="ides")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = options.get_option_index(self.own or "default")
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))
