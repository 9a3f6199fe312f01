"""A handful of SVG snapshots at fixed sizes (Textual is pinned exactly in pyproject.toml).

Update after an intended change with: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from podbay.core.model import Source, Workspace
from podbay.tui.app import PodbayApp
from podbay.tui.screens.confirm import Confirm
from tests.tui.test_app import make_engine

NOW = 1_800_000_000.0


def app_at(tmp_path: Path) -> PodbayApp:
    engine, _ = make_engine(tmp_path)
    engine.store.insert_workspace(
        Workspace(
            name="repo",
            provider="docker",
            source=Source(kind="git", value="https://example.org/team/repo.git", ref="main"),
            folder="/state/repo",
            owned_folder=True,
            container_name="repo",
            phase="failed",
            error="postCreateCommand failed with exit code 2",
        )
    )
    for ws in engine.store.workspaces():
        ws.created_at = NOW - {"web": 3 * 3600, "api": 120, "repo": 2 * 86400}[ws.name]
        engine.store.save_workspace(ws)
    return PodbayApp(engine, poll_seconds=None, clock=lambda: NOW)


async def loaded(pilot: Any) -> None:
    table = pilot.app.query_one("#workspaces", DataTable)
    async with asyncio.timeout(5):
        while table.row_count < 3:
            await asyncio.sleep(0.02)
    await pilot.pause()


def test_main_view_100x30(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_at(tmp_path), terminal_size=(100, 30), run_before=loaded)


def test_main_view_80x24(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_at(tmp_path), terminal_size=(80, 24), run_before=loaded)


def test_delete_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    async def before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("down", "d")
        async with asyncio.timeout(5):
            while not isinstance(pilot.app.screen, Confirm):
                await asyncio.sleep(0.02)
        await pilot.pause()

    assert snap_compare(app_at(tmp_path), terminal_size=(100, 30), run_before=before)


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    async def before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app_at(tmp_path), terminal_size=(100, 30), run_before=before)


def test_main_view_light_theme(snap_compare: Any, tmp_path: Path) -> None:
    async def before(pilot: Any) -> None:
        pilot.app.theme = "textual-light"
        await loaded(pilot)

    assert snap_compare(app_at(tmp_path), terminal_size=(100, 30), run_before=before)


def test_main_view_no_color(snap_compare: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """With NO_COLOR the statuses stay apart by weight: Error bold, Stopped dim."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(app_at(tmp_path), terminal_size=(100, 30), run_before=loaded)


@pytest.fixture
def no_aws_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials and no instance metadata: the setup lists what it can without an account
    (regions, the instance types with the bundled prices)."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("PODBAY_HOME", str(tmp_path / "home"))


async def aws_setup(pilot: Any, step: int) -> None:
    """The guided setup of an AWS provider, at step 2 or 3 (with its choices listed)."""
    await loaded(pilot)
    await pilot.press("p")
    await pilot.pause()
    await pilot.press("down", "enter")
    screen = pilot.app.screen
    async with asyncio.timeout(10):
        while not screen.query("#opt-region"):
            await asyncio.sleep(0.02)
        screen.query_one("#opt-region").value = "us-east-1"
        await pilot.pause()
        if step == 3:
            await pilot.press("enter")
            choices = screen.query_one("#choices-instance_type")
            while "t3.medium $" not in str(choices.render()):
                await asyncio.sleep(0.02)
    await pilot.pause()


def test_provider_setup_aws_required_80x24(
    snap_compare: Any, tmp_path: Path, no_aws_account: None
) -> None:
    async def before(pilot: Any) -> None:
        await aws_setup(pilot, 2)

    assert snap_compare(app_at(tmp_path), terminal_size=(80, 24), run_before=before)


def test_provider_setup_aws_optional_120x35(
    snap_compare: Any, tmp_path: Path, no_aws_account: None
) -> None:
    async def before(pilot: Any) -> None:
        await aws_setup(pilot, 3)

    assert snap_compare(app_at(tmp_path), terminal_size=(120, 35), run_before=before)


def test_ports_tab_managed_list(snap_compare: Any, tmp_path: Path) -> None:
    """The Ports tab: an open forward with its URL (one whose local port was busy says so),
    then the config's forwardPorts not forwarded yet."""
    from podbay.core.ssh.client import Forward
    from podbay.tui.widgets.ports_table import OpenForward

    app = app_at(tmp_path)
    web = app.engine.store.workspace("web")
    web.forward_ports = [3000, 8000, "db:5432"]
    app.engine.store.save_workspace(web)

    async def before(pilot: Any) -> None:
        await loaded(pilot)
        pilot.app.select_workspace("web")
        worker: Any = None  # (a forward's worker; none here, nothing is stopped)
        pilot.app.forwards["web"] = [
            OpenForward(Forward(3000, "localhost", 3000), worker),
            OpenForward(Forward(41234, "localhost", 8000, "local port 8000 was busy"), worker),
        ]
        await pilot.press("3", "right_square_bracket", "right_square_bracket")
        pilot.app.render_details()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)
