"""The minimal TUI: providers and workspaces with live status, via Textual's Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Static

from core.engine import Engine
from core.model import ProviderConfig, Source, Workspace
from core.store import Store
from tui.app import PodbayApp


class FakeEndpoint:
    label = "fake://"

    def __init__(self, containers: list[dict[str, Any]]) -> None:
        self.containers = containers
        self.calls = 0

    def list_containers(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        self.calls += 1
        return self.containers


class FakeProvider:
    def __init__(self, endpoint: FakeEndpoint) -> None:
        self.name = "docker"
        self._endpoint = endpoint

    def endpoint(self) -> FakeEndpoint:
        return self._endpoint


def make_engine(tmp_path: Path, containers: list[dict[str, Any]]) -> tuple[Engine, FakeEndpoint]:
    store = Store(tmp_path)
    store.save_provider(ProviderConfig(name="docker", type="docker"))
    store.set_meta("default_provider", "docker")
    endpoint = FakeEndpoint(containers)
    return Engine(store, lambda config: FakeProvider(endpoint)), endpoint  # type: ignore[arg-type,return-value]


def rows(app: PodbayApp, table_id: str) -> list[list[str]]:
    table = app.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def wait_until(condition: Any, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_lists_providers_and_workspaces_with_status(tmp_path: Path) -> None:
    engine, endpoint = make_engine(
        tmp_path,
        [
            {
                "Id": "c1",
                "State": "running",
                "Status": "Up",
                "Labels": {"dev.podbay.workspace": "web"},
            }
        ],
    )
    for name in ("web", "api"):
        engine.store.insert_workspace(
            Workspace(
                name=name,
                provider="docker",
                source=Source(kind="folder", value=f"/src/{name}"),
                folder=f"/src/{name}",
                owned_folder=False,
                container_name=name,
                phase="ready",
            )
        )

    async def scenario() -> None:
        app = PodbayApp(engine)
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_until(lambda: app.query_one("#workspaces", DataTable).row_count == 2)
            assert rows(app, "#providers") == [["docker", "docker", "*", "-"]]
            table = {r[0]: r for r in rows(app, "#workspaces")}
            assert table["web"][2] == "Running" and table["web"][3] == "/src/web"
            assert table["api"][2] == "NotFound"
            message = str(app.query_one("#message", Static).render())
            assert "api: the container is gone" in message
            calls = endpoint.calls
            await pilot.press("r")
            await wait_until(lambda: endpoint.calls > calls)
            assert endpoint.calls == calls + 1  # one call per provider per poll
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_empty_state_says_how_to_start(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, [])

    async def scenario() -> None:
        app = PodbayApp(engine)
        async with app.run_test(size=(80, 24)):
            await wait_until(
                lambda: "No workspaces yet" in str(app.query_one("#message", Static).render())
            )

    asyncio.run(scenario())
