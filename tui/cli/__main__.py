"""`python -m tui.cli`: the same as the `podbay` command (the TUI runs it for its shells)."""

from podbay.tui.cli import entry

entry()
