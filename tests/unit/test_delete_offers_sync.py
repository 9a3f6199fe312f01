"""`delete` at a terminal, of a copy of a folder here whose machine holds changes: it offers to
bring them back first (podbay sync), Enter meaning yes; a workspace that is not a copy is not
asked about. (engine.sync itself runs against real machines: tests/docker/test_ssh_machine.py,
tests/aws/test_sync_standin.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from podbay.core.model import Source, Workspace
from podbay.core.sync import Synced
from podbay.tui.cli import verbs


class Engine:
    def __init__(self) -> None:
        self.synced: list[str] = []

    async def sync(self, name: str, force: bool, on_event: Any) -> Synced:
        self.synced.append(name)
        return Synced(brought=["hello.txt"], overwritten=[])


def _workspace(folder: str) -> Workspace:
    return Workspace(
        name="app",
        provider="cloud",
        source=Source(kind="folder", value="/home/me/app"),
        folder=folder,
        owned_folder=False,
        container_name="app",
    )


@pytest.mark.parametrize(("answer", "synced"), [("", True), ("y", True), ("n", False)])
def test_a_copy_with_changes_is_offered_a_sync_first(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, answer: str, synced: bool
) -> None:
    asked: list[str] = []

    def reply(prompt: str) -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr("builtins.input", reply)
    engine = Engine()
    work = ["1 file(s) changed on the machine: hello.txt (podbay sync app brings them back)"]
    assert verbs._synced_first(engine, _workspace("/podbay/app"), work) is synced  # type: ignore[arg-type]
    assert asked == ["Bring them back to /home/me/app first (podbay sync app)? [Y/n] "]
    assert engine.synced == (["app"] if synced else [])
    assert "would be lost: 1 file(s) changed on the machine" in capsys.readouterr().err


def test_a_folder_used_in_place_is_not_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked"))
    engine = Engine()
    assert not verbs._synced_first(engine, _workspace("/home/me/app"), ["stash"])  # type: ignore[arg-type]
    assert engine.synced == []
