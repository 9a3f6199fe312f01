"""Each front speaks its own language: the TUI names keys where the CLI names commands."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from podbay.tui.wording import for_tui

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("hint", "said"),
    [
        ("run: podbay up web", "press u"),
        ("fix it in a.json, then run: podbay up web", "fix it in a.json, then press u"),
        (
            "set remoteUser, then run: podbay up web --rebuild",
            "set remoteUser, then press r (rebuild)",
        ),
        (
            "choose another name, or remove it: podbay delete web",
            "choose another name, or remove it: press d",
        ),
        ("start it: podbay start web", "start it: press u"),
        ("see: podbay list", "see the workspaces pane"),
        ("podbay ssh-config install", "press i"),
        ("podbay provider add aws", "press p to add a provider"),
        ("run podbay doctor --rebuild-state", "in a terminal: podbay doctor --rebuild-state"),
        # A command with more than a name is one for a terminal, never cut inside a word.
        ("with: podbay up alpine:3 --name web --yes", "with: podbay up alpine:3 --name web --yes"),
        ("podbay up FOLDER --image IMAGE", "podbay up FOLDER --image IMAGE"),
    ],
)
def test_hints_name_the_tuis_keys(hint: str, said: str) -> None:
    assert for_tui(hint) == said


def _strings_naming_commands() -> list[str]:
    """Every string in core and the providers that names a podbay command (f-strings with their
    fields as a workspace name)."""
    found = []
    for path in [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("providers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                parts = [v.value if isinstance(v, ast.Constant) else "web" for v in node.values]
                text = "".join(str(p) for p in parts)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            if re.search(r"\b(run:? |then |it: |it with: |with: )`?podbay [a-z]", text):
                found.append(text)
    return found


def test_no_hint_of_core_tells_a_tui_user_to_run_podbay() -> None:
    hints = _strings_naming_commands()
    assert len(hints) > 20  # the scan sees core's hints
    for hint in hints:
        said = for_tui(hint)
        assert not re.search(r"\brun:? `?podbay", said), (hint, said)
