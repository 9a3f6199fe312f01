"""The TUI against the real engine: a workspace made by the CLI shows up Running."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from podbay import providers
from podbay.core.engine import Engine
from podbay.core.store import Store
from podbay.tui.app import PodbayApp
from tests.conftest import IMAGE, Podbay, write_config


def test_tui_shows_a_real_workspace(podbay: Podbay) -> None:
    write_config(podbay.cwd / "shown", {"image": IMAGE})
    podbay.ok("up", "shown")
    engine = Engine(Store(podbay.home), providers.load)

    async def scenario() -> list[str]:
        app = PodbayApp(engine)
        async with app.run_test(size=(100, 24)):
            table = app.query_one("#workspaces", DataTable)
            async with asyncio.timeout(10):
                while table.row_count == 0:
                    await asyncio.sleep(0.02)
            return [str(c) for c in table.get_row_at(0)]

    row = asyncio.run(scenario())
    assert row[:3] == ["shown", "docker", "Running"]


def test_tui_marks_a_workspace_whose_config_changed(podbay: Podbay) -> None:
    from textual.widgets import Static

    config = write_config(podbay.cwd / "drifted", {"image": IMAGE, "containerEnv": {"V": "1"}})
    podbay.ok("up", "drifted")
    engine = Engine(Store(podbay.home), providers.load)

    async def status_cell(app: PodbayApp) -> str:
        table = app.query_one("#workspaces", DataTable)
        async with asyncio.timeout(10):
            while table.row_count == 0:
                await asyncio.sleep(0.02)
        return str(table.get_row_at(0)[2])

    async def scenario() -> tuple[str, str, str]:
        app = PodbayApp(engine)
        async with app.run_test(size=(120, 30)) as pilot:
            before = await status_cell(app)
            config.write_text(config.read_text().replace('"1"', '"2"'))
            app.poll_status()
            async with asyncio.timeout(10):
                while (after := await status_cell(app)) == before:
                    await pilot.pause(0.05)
            details = str(app.query_one("#details-text", Static).render())
            return before, after, details

    before, after, details = asyncio.run(scenario())
    assert (before, after) == ("Running", "Running *")
    assert "changed since the container was made (containerEnv); press r to rebuild" in details
