"""The TUI with Pilot, against a real Engine and store with a fake Docker endpoint (unit level).

Actions that change workspaces run against the real engine in tests/docker/test_tui_actions.py.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widget import Widget
from textual.widgets import Button, Collapsible, DataTable, Input, OptionList, Select, Static

from podbay.core import oplog, paths, used
from podbay.core.engine import Engine, UpRequest
from podbay.core.model import ProviderConfig, Source, Workspace
from podbay.core.store import Store
from podbay.providers.aws.options import AwsOptions
from podbay.providers.docker_local import DockerProvider
from podbay.tui.actions import ACTIONS
from podbay.tui.app import PodbayApp
from podbay.tui.screens.confirm import Confirm
from podbay.tui.screens.help import Help
from podbay.tui.screens.history import History
from podbay.tui.screens.new_workspace import NewWorkspace
from podbay.tui.screens.provider_setup import ProviderSetup, SetupResult
from podbay.tui.widgets.log_view import LogView, clean
from podbay.tui.widgets.workspace_table import WorkspaceTable
from tests.conftest import write_config


class FakeEndpoint:
    label = "fake://"

    def __init__(self, containers: list[dict[str, Any]]) -> None:
        self.containers = containers
        self.calls = 0

    def list_containers(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        self.calls += 1
        return self.containers

    def inspect_container(self, container: str) -> dict[str, Any] | None:
        return next((c for c in self.containers if c["Id"] == container), None)


class FakeProvider(DockerProvider):
    """The real Docker provider (its poll is one list call) on the fake endpoint above."""

    def __init__(self, endpoint: FakeEndpoint) -> None:
        super().__init__(ProviderConfig(name="docker", type="docker"))
        self._endpoint = endpoint  # type: ignore[assignment]


def make_engine(
    tmp_path: Path, names: tuple[str, ...] = ("web", "api")
) -> tuple[Engine, FakeEndpoint]:
    store = Store(tmp_path)
    store.save_provider(ProviderConfig(name="docker", type="docker"))
    store.set_meta("default_provider", "docker")
    endpoint = FakeEndpoint(
        [
            {
                "Id": "c1",
                "State": "running",
                "Status": "Up",
                "Labels": {"dev.podbay.workspace": "web"},
            }
        ]
    )
    for name in names:
        store.insert_workspace(
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
    engine = Engine(store, lambda config: FakeProvider(endpoint))
    return engine, endpoint


def rows(app: PodbayApp, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def until(condition: Callable[[], object], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def run(
    engine: Engine, scenario: Callable[[PodbayApp, Any], Any], size: tuple[int, int] = (100, 30)
) -> None:
    async def main() -> None:
        app = PodbayApp(engine, poll_seconds=None)
        async with app.run_test(size=size) as pilot:
            await until(
                lambda: (
                    app.query_one("#workspaces", DataTable).row_count > 0
                    or not engine.store.workspaces()
                )
            )
            await scenario(app, pilot)

    asyncio.run(main())


def test_panes_show_providers_workspaces_and_details(tmp_path: Path) -> None:
    engine, endpoint = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        assert rows(app, "#providers") == [["docker", "docker", "*", "yes"]]
        table = {r[0]: r for r in rows(app, "#workspaces")}
        assert table["web"][2] == "Running" and table["web"][3] == "/src/web"
        assert table["api"][2] == "NotFound"
        details = str(app.query_one("#details-text", Static).render())
        assert "api" in details and "its container is gone" in details
        await pilot.press("down")
        assert "web  (Running)" in str(app.query_one("#details-text", Static).render())
        calls = endpoint.calls
        await pilot.press("ctrl+r")
        await until(lambda: endpoint.calls > calls)
        assert endpoint.calls == calls + 1  # one call per provider per poll

    run(engine, scenario)


def test_it_fits_80_by_24(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        assert app.query_one("#workspaces", DataTable).region.height >= 3
        assert app.query_one("#details-text", Static).region.height >= 3

    run(engine, scenario, size=(80, 24))


def test_help_lists_every_action_from_the_registry(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, Help)
        listed = [row[1] for row in rows(app, "#help-table")]
        assert listed == [a.description for a in ACTIONS]
        await pilot.press("escape")
        assert not isinstance(app.screen, Help)

    run(engine, scenario)


def test_footer_keys_come_from_the_registry(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        bound = {b.action: b.key for b in app.BINDINGS}  # type: ignore[union-attr]
        assert bound == {a.id: a.key for a in ACTIONS}

    run(engine, scenario)


def test_filter_narrows_and_escape_clears(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("slash")
        await pilot.press("w", "e")
        assert [r[0] for r in rows(app, "#workspaces")] == ["web"]
        await pilot.press("escape")
        assert [r[0] for r in rows(app, "#workspaces")] == ["api", "web"]
        assert app.focused is app.query_one("#workspaces")

    run(engine, scenario)


def test_delete_asks_naming_the_workspace_with_focus_on_cancel(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, Confirm) and bool(app.screen.query("#detail")))
        question = str(app.screen.query_one("#question", Static).render())
        assert question == "Delete workspace api (docker)?"
        assert "Your folder /src/api is kept." in str(
            app.screen.query_one("#detail", Static).render()
        )
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        await pilot.press("enter")  # Enter on the focused Cancel
        assert not isinstance(app.screen, Confirm)
        assert "api" in engine.store.find_workspace("api").name  # type: ignore[union-attr]
        assert app.operations == {}

    run(engine, scenario)


def test_new_workspace_form_validates_and_returns_a_request(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=())
    chosen: list[UpRequest | None] = []

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        screen = NewWorkspace(["docker"], "docker")
        app.push_screen(screen, chosen.append)
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert "a source is needed" in str(screen.query_one("#error", Static).render())
        screen.query_one("#template", Select).value = "python"
        await pilot.pause()
        assert screen.query_one("#source", Input).value == "template:python"
        screen.query_one("#name", Input).value = "Bad_Name"
        await pilot.press("ctrl+s")
        assert "invalid workspace name" in str(screen.query_one("#error", Static).render())
        screen.query_one("#name", Input).value = "py1"
        await pilot.press("ctrl+s")
        await pilot.pause()

    run(engine, scenario)
    assert chosen == [UpRequest(source="template:python", name="py1", provider="docker")]


def test_a_folder_with_several_subfolder_configs_asks_which_one(tmp_path: Path) -> None:
    """Configs in several folders of .devcontainer have no order: the dialog shows them to
    choose from (the CLI says --config), and the choice goes into the request."""
    engine, _ = make_engine(tmp_path, names=())
    project = tmp_path / "proj"
    for where in ("web", "gpu"):
        write_config(project, {"image": "x"}, f".devcontainer/{where}")
    chosen: list[UpRequest | None] = []

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        screen = NewWorkspace(["docker"], "docker")
        app.push_screen(screen, chosen.append)
        await pilot.pause()
        picker = screen.query_one("#config", Select)
        assert not picker.display
        screen.query_one("#source", Input).value = str(project)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "several configs: choose one" in str(screen.query_one("#error", Static).render())
        assert picker.display and picker.has_focus
        assert [str(label) for label, _ in picker._options[1:]] == [
            ".devcontainer/gpu/devcontainer.json",
            ".devcontainer/web/devcontainer.json",
        ]
        picker.value = ".devcontainer/web/devcontainer.json"
        await pilot.press("ctrl+s")
        await pilot.pause()

    run(engine, scenario)
    assert chosen == [
        UpRequest(
            source=str(project), provider="docker", config=".devcontainer/web/devcontainer.json"
        )
    ]


def test_provider_setup_goes_step_by_step_and_asks_before_saving_a_failed_test(
    tmp_path: Path,
) -> None:
    """B15, B3: p opens the guided setup with the type list focused; a unique name is proposed;
    optional settings are a collapsible group; the test runs before saving, and a failed one
    is saved only when the user says so."""
    engine, _ = make_engine(tmp_path, names=())
    saved: list[SetupResult | None] = []

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("p")  # the key opens the setup...
        await pilot.pause()
        assert isinstance(app.screen, ProviderSetup)
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, ProviderSetup))
        app.push_screen(ProviderSetup(None, {"docker"}), saved.append)  # ...capture its result
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProviderSetup)
        question = screen.query_one("#question", Static)
        assert str(question.render()) == "Add a provider: step 1 of 4, its type"
        assert isinstance(app.focused, OptionList)  # typing goes somewhere at once
        await pilot.press("enter")  # docker, the first type
        await until(lambda: "step 2 of 4" in str(question.render()))
        name = screen.query_one("#name", Input)
        assert name.value == "docker-2"  # not the taken "docker"
        await until(lambda: name.has_focus)
        name.value = "docker"
        await pilot.pause()
        assert (
            str(screen.query_one("#error-name", Static).render())
            == "a provider named docker exists"
        )
        await pilot.press("enter")
        assert "step 2 of 4" in str(question.render())  # a taken name does not go on
        name.value = "far"
        await pilot.press("enter")
        await until(lambda: "step 3 of 4" in str(question.render()))
        host = screen.query_one("#opt-host", Input)  # from DockerOptions.host
        assert app.focused is not None
        help_texts = [str(s.render()) for s in screen.query(".field-help")]
        assert any("Docker endpoint" in text for text in help_texts)
        host.value = "tcp://127.0.0.1:9"
        await pilot.pause()
        screen.query_one("#next", Button).press()
        await until(lambda: "step 4 of 4" in str(question.render()))
        result = screen.query_one("#check-result", Static)
        await until(lambda: "✗" in str(result.render()))
        assert "cannot reach Docker at tcp://127.0.0.1:9" in str(result.render())
        await pilot.press("ctrl+s")
        await until(lambda: isinstance(app.screen, Confirm))
        assert "failed. Save it anyway?" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("y")
        await until(lambda: saved)

    run(engine, scenario)
    [result] = saved
    assert result is not None and not result.make_default
    assert (result.config.name, result.config.type, result.config.options) == (
        "far",
        "docker",
        {"host": "tcp://127.0.0.1:9"},
    )


def test_every_aws_option_is_reachable_with_no_internal_text(tmp_path: Path) -> None:
    """B3: all 17 options of an AWS provider can be reached (required ones on step 2, the
    others in groups), and no pydantic internals show."""
    engine, _ = make_engine(tmp_path, names=())

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.push_screen(ProviderSetup(None, {"docker"}))
        await pilot.pause()
        screen = app.screen
        await pilot.press("down", "enter")  # aws
        await until(lambda: bool(screen.query("#opt-region")))
        region = screen.query_one("#opt-region", Input)
        assert region.placeholder == "required"
        region.value = "narnia"
        await pilot.pause()
        assert (
            str(screen.query_one("#error-region", Static).render())
            == "a region looks like us-east-1"
        )
        region.value = "us-east-1"
        await pilot.press("enter")
        await until(lambda: "step 3 of 4" in str(screen.query_one("#question", Static).render()))
        titles = [c.title for c in screen.query(Collapsible)]
        assert titles == ["Instance", "Network", "Access", "Cost"]
        form = screen.query_one("#step-optional")
        reached = {"region", "profile"}

        def in_view(field: Widget) -> Callable[[], bool]:
            return lambda: form.region.contains_region(field.region)

        for group in screen.query(Collapsible):
            group.collapsed = False
            await pilot.pause()
            for field in group.query(".setup-field"):
                field.focus()
                await until(in_view(field))  # scrolled to
                reached.add(str(field.id).removeprefix("opt-"))
        assert reached == set(AwsOptions.model_fields)
        text = " ".join(str(w.render()) for w in screen.query(Static)) + " ".join(
            i.placeholder for i in screen.query(Input)
        )
        assert "PydanticUndefined" not in text and "Value error" not in text

    run(engine, scenario, size=(120, 35))


def test_providers_are_removed_and_made_default_by_core_rules(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=("web",))
    engine.store.save_provider(ProviderConfig(name="spare", type="docker"))

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        providers_table = app.query_one("#providers", DataTable)
        providers_table.focus()
        await pilot.press("j")  # spare
        await pilot.press("m")
        assert engine.default_provider_name() == "spare"
        await until(lambda: rows(app, "#providers")[1][2] == "*")
        await pilot.press("k", "d")  # docker: web lives on it
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(lambda: "provider docker is used by workspaces: web" in app.history[-1].message)
        assert engine.store.provider("docker") is not None
        await pilot.press("j", "d")
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(lambda: [r[0] for r in rows(app, "#providers")] == ["docker"])
        assert engine.default_provider_name() == "docker"  # the default passed on

    run(engine, scenario)


def test_empty_state_says_how_to_start(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=())

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await until(
            lambda: "No workspaces yet" in str(app.query_one("#details-text", Static).render())
        )

    run(engine, scenario)


def test_unreachable_provider_shows_a_banner_not_a_traceback(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_provider(
        ProviderConfig(name="docker", type="docker", options={"host": "unix:///nonexistent.sock"})
    )
    store.set_meta("default_provider", "docker")
    from podbay import providers

    engine = Engine(store, providers.load)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        banner = app.query_one("#banner", Static)
        await until(lambda: banner.has_class("visible"))
        assert "cannot reach Docker at unix:///nonexistent.sock" in str(banner.render())
        assert rows(app, "#providers")[0][3].startswith("no: cannot reach Docker")

    run(engine, scenario)


def test_palette_runs_actions_from_the_registry(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Help")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, Help))

    run(engine, scenario)


def test_edit_provider_reuses_the_setup_prefilled(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=())
    engine.store.save_provider(
        ProviderConfig(name="docker", type="docker", options={"host": "unix:///run/x.sock"})
    )

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.query_one("#providers").focus()
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProviderSetup)
        assert "Edit provider docker: step 2 of 4" in str(
            screen.query_one("#question", Static).render()
        )
        assert screen.query_one("#name", Input).disabled
        host = screen.query_one("#opt-host", Input)
        assert host.value == "unix:///run/x.sock"
        host.value = "unix:///run/y.sock"
        await pilot.press("ctrl+s")  # tests, then asks (nothing listens there)
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(lambda: not isinstance(app.screen, ProviderSetup))
        assert engine.store.provider("docker").options == {"host": "unix:///run/y.sock"}  # type: ignore[union-attr]
        assert engine.default_provider_name() == "docker"  # still the default

    run(engine, scenario)


def test_tab_switches_panes(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        assert app.focused is app.query_one("#workspaces")
        await pilot.press("tab")
        assert app.focused is not app.query_one("#workspaces")
        await pilot.press("shift+tab")
        assert app.focused is app.query_one("#workspaces")

    run(engine, scenario)


def test_provider_suggestions_complete_the_field(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=())

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.push_screen(ProviderSetup(None, {"docker"}))
        await pilot.pause()
        await pilot.press("enter", "enter")  # docker, its name
        host = app.screen.query_one("#opt-host", Input)
        await until(lambda: host.suggester is not None)
        host.focus()
        await pilot.press(*"ssh")
        await pilot.pause(0.2)
        await pilot.press("right")  # accept the suggestion
        assert host.value == "ssh://USER@HOST"

    run(engine, scenario)


def test_the_poll_survives_an_unexpected_error_and_tries_again(tmp_path: Path) -> None:
    # The review's H3: one exception other than PodbayError stopped polling for good.
    engine, _ = make_engine(tmp_path)
    real_poll = engine.poll
    calls = {"n": 0}

    async def flaky_poll(drift: bool = False) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RecursionError("maximum recursion depth exceeded")
        return await real_poll(drift=drift)

    engine.poll = flaky_poll  # type: ignore[method-assign]

    async def main() -> None:
        app = PodbayApp(engine, poll_seconds=0.5)  # the banner stays 1 s before the retry
        async with app.run_test(size=(100, 30)):
            banner = app.query_one("#banner", Static)
            await until(lambda: "internal error while polling" in str(banner.render()))
            assert "trying again in" in str(banner.render())
            await until(lambda: app.query_one("#workspaces", DataTable).row_count == 2)
            await until(lambda: "internal error" not in str(banner.render()))

    asyncio.run(main())


def test_names_and_paths_are_never_read_as_markup(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=("web",))
    ws = engine.store.workspace("web")
    ws.source = Source(kind="folder", value="/src/[bold]x[/bold]")
    engine.store.save_workspace(ws)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        assert "[bold]x[/bold]" in rows(app, "#workspaces")[0][3]
        assert "/src/[bold]x[/bold]" in str(app.query_one("#details-text", Static).render())

    run(engine, scenario)


def test_the_providers_cursor_stays_on_its_row_across_polls(tmp_path: Path) -> None:
    """B4: a poll redrew the providers table and put the cursor back on the first row, so `e`
    edited another provider than the one highlighted."""
    engine, endpoint = make_engine(tmp_path, names=())
    engine.store.save_provider(ProviderConfig(name="other", type="docker"))

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        table = app.query_one("#providers", DataTable)
        await until(lambda: table.row_count == 2)
        table.focus()
        await pilot.press("down")
        calls = endpoint.calls
        await pilot.press("ctrl+r")
        await until(lambda: endpoint.calls > calls)
        await pilot.pause()
        await pilot.press("e")
        await until(lambda: isinstance(app.screen, ProviderSetup))
        assert app.screen.query_one("#name", Input).value == "other"

    run(engine, scenario)


def test_statuses_are_coloured_by_the_theme(tmp_path: Path) -> None:
    """Running in the theme's success colour, NotFound (and Busy, a changed config) in its
    warning colour, Error bold in its error colour, Stopped dim; a new theme recolours them."""
    from rich.style import Style

    engine, endpoint = make_engine(tmp_path, names=("web", "api", "old", "bad"))
    endpoint.containers += [
        {
            "Id": "c2",
            "State": "exited",
            "Status": "Exited",
            "Labels": {"dev.podbay.workspace": "old"},
        },
    ]
    bad = engine.store.workspace("bad")
    bad.phase, bad.error = "failed", "postCreateCommand failed with exit code 2"
    engine.store.save_workspace(bad)

    def status_style(app: PodbayApp, name: str) -> tuple[str, Style, str]:
        """The cell's text, its style, and its colour ("" for none)."""
        table = app.query_one("#workspaces", DataTable)
        cell = table.get_cell(name, "status")
        style = Style.parse(str(cell.style))
        return cell.plain, style, style.color.name.lower() if style.color else ""

    def colour(app: PodbayApp, variable: str) -> str:
        return app.get_css_variables()[variable].lower()

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await until(lambda: app.query_one("#workspaces", DataTable).row_count == 4)
        assert status_style(app, "web")[::2] == ("Running", colour(app, "success"))
        assert status_style(app, "api")[::2] == ("NotFound", colour(app, "warning"))
        plain, style, _ = status_style(app, "old")
        assert plain == "Stopped" and style.dim
        plain, style, hue = status_style(app, "bad")
        assert (plain, hue) == ("Error", colour(app, "error")) and style.bold
        dark = colour(app, "success")
        app.theme = "solarized-light"
        await pilot.pause()
        assert colour(app, "success") != dark
        assert status_style(app, "web")[2] == colour(app, "success")

    run(engine, scenario)


def test_panes_tabs_and_rows_by_key(tmp_path: Path) -> None:
    """1, 2, 3 go to the panes, [ and ] through Details, Logs and Ports, j, k, g, G through the
    rows; the focused pane's title stands out."""
    from textual.widgets import TabbedContent, Tabs

    engine, _ = make_engine(tmp_path, names=("a1", "b2", "c3", "d4"))

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        providers, workspaces = app.query_one("#providers"), app.query_one("#workspaces")
        titles = {t.parent.id: t for t in app.query(".pane-title")}  # type: ignore[union-attr]

        def reversed_title(pane: str) -> bool:
            return bool(titles[pane].styles.text_style.reverse)

        await pilot.press("1")
        await pilot.pause()
        assert app.focused is providers
        assert reversed_title("providers-pane") and not reversed_title("workspaces-pane")
        await pilot.press("2")
        await pilot.pause()
        assert app.focused is workspaces
        assert reversed_title("workspaces-pane") and not reversed_title("providers-pane")
        assert app.selected_name() == "a1"
        await pilot.press("j", "j")
        assert app.selected_name() == "c3"
        await pilot.press("k")
        assert app.selected_name() == "b2"
        await pilot.press("G")
        assert app.selected_name() == "d4"
        await pilot.press("g")
        assert app.selected_name() == "a1"
        details = app.query_one("#details-pane", TabbedContent)
        await pilot.press("3")
        assert isinstance(app.focused, Tabs)
        await pilot.press("right_square_bracket")
        assert details.active == "tab-logs"
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert details.active == "tab-details"
        await pilot.press("left_square_bracket")
        assert details.active == "tab-ports"

    run(engine, scenario)


def test_filter_matches_source_provider_and_status_and_says_no_match(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("slash")
        for text, shown in (("/src/ap", ["api"]), ("RUNN", ["web"]), ("docker", ["api", "web"])):
            app.query_one("#filter", Input).value = text
            await pilot.pause()
            assert [r[0] for r in rows(app, "#workspaces")] == shown, text
        app.query_one("#filter", Input).value = "nothing-like-it"
        await pilot.pause()
        assert rows(app, "#workspaces") == []
        details = str(app.query_one("#details-text", Static).render())
        assert "No workspace matches 'nothing-like-it'" in details
        await pilot.press("escape")
        await pilot.pause()
        assert [r[0] for r in rows(app, "#workspaces")] == ["api", "web"]
        assert "No workspace matches" not in str(app.query_one("#details-text", Static).render())

    run(engine, scenario)


def test_quit_asks_while_operations_run_naming_them(tmp_path: Path) -> None:
    """B1: q in the middle of a rebuild quit at once and left it half done."""
    from podbay.tui.operations import Operation

    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.operations["web"] = Operation.REBUILDING  # as a running rebuild has it
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, Confirm))
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Quit while 1 operation(s) run?" in text and "web: rebuilding" in text
        assert "Press u" in text and "podbay up" not in text
        await pilot.press("n")
        await until(lambda: not isinstance(app.screen, Confirm))
        assert app.is_running
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(lambda: not app.is_running)

    run(engine, scenario)


def test_enter_on_a_workspace_that_cannot_take_a_shell_says_why(tmp_path: Path) -> None:
    """B10: a busy workspace's hint said "press u to start it", and u then said it was busy."""
    from podbay.tui.operations import Operation

    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        def messages() -> list[str]:
            return [n.message for n in app._notifications]

        app.query_one("#workspaces", DataTable).focus()
        app.operations["web"] = Operation.REBUILDING
        app.query_one(WorkspaceTable).select("web")
        await pilot.press("enter")
        await until(lambda: messages())
        assert messages()[-1] == "web is busy (rebuilding); try again when it ends"
        del app.operations["web"]
        app.query_one(WorkspaceTable).select("api")
        await pilot.press("enter")
        await until(lambda: len(messages()) == 2)
        assert messages()[-1] == "api is NotFound; its container is gone; press u to make it again"

    run(engine, scenario)


def test_help_and_quit_lead_the_footer_at_80_columns(tmp_path: Path) -> None:
    """B13: at 80 columns the footer was cut before ? and q."""
    from textual.widgets._footer import FooterKey

    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.pause()
        keys = [k for k in app.query(FooterKey) if k.region.width and k.region.right <= 80]
        shown = [k.key_display for k in keys]
        assert "?" in shown and "q" in shown, shown

    run(engine, scenario, size=(80, 24))


def test_details_say_when_ssh_cannot_reach_the_workspace_and_i_fixes_it(
    tmp_path: Path, own_home: Path
) -> None:
    """B12: Details showed `ssh web.podbay` although ~/.ssh/config knew nothing of it."""
    engine, _ = make_engine(tmp_path)
    for ws in engine.store.workspaces():
        ws.ssh_ready = True
        engine.store.save_workspace(ws)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        def details() -> str:
            return str(app.query_one("#details-text", Static).render())

        app.query_one(WorkspaceTable).select("web")
        await pilot.pause()
        assert "ssh web.podbay  (press i first" in details()
        await pilot.press("i")
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(lambda: "press i first" not in details())
        config = (own_home / ".ssh" / "config").read_text()
        assert f'Include "{engine.store.root / "ssh_config"}"' in config
        assert "ssh web.podbay" in details()

    run(engine, scenario)


def test_log_lines_are_cleaned_for_the_terminal() -> None:
    assert clean("\x1b[31mred\x1b[0m text") == "red text"
    assert clean("\x1b]0;title\x07after") == "after"
    assert clean("10%\r50%\r100%\r") == "100%"
    assert clean("bell\x07 tab\tkept") == "bell\N{REPLACEMENT CHARACTER} tab\tkept"


def test_logs_tab_follows_the_log_file_with_search_wrap_and_full_screen(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, ("web",))
    log = oplog.path(paths.logs_dir(tmp_path), "web")
    # Written before the TUI starts (an earlier session or a CLI run): shown when it opens.
    oplog.append(log, [oplog.header("up", "CLI"), *(f"line {i}" for i in range(100))])

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        view = app.query_one(LogView)
        bar = app.query_one("#log-bar", Static)
        await pilot.press("l")
        assert app.focused is view
        await until(lambda: view.line_count == 101)
        assert view.lines[0].endswith(" up (from the CLI) ---")
        assert "podbay's log of web · following" in str(bar.render())
        # A CLI run appends while the TUI shows the log: it appears, and the view follows it.
        oplog.append(log, [oplog.header("stop", "CLI"), "==> stopping web"])
        await until(lambda: view.lines[-1] == "==> stopping web")
        await pilot.pause()
        assert view.is_vertical_scroll_end
        # Scrolling up pauses following; F resumes it.
        await pilot.press("pageup")
        assert not view.follow and "paused (F follows)" in str(bar.render())
        oplog.append(log, ["more"])
        await until(lambda: view.lines[-1] == "more")
        await pilot.pause()
        assert not view.is_vertical_scroll_end
        await pilot.press("F")
        await pilot.pause()
        assert view.follow and view.is_vertical_scroll_end
        # / searches the log (not the workspaces) while it has focus; esc shows it all again.
        await pilot.press("slash")
        await pilot.press(*"line 4")
        await until(lambda: view.line_count == 11)
        assert view.lines[:2] == ["line 4", "line 40"]
        assert "11 lines match 'line 4'" in str(bar.render())
        assert app.query_one("#filter", Input).value == ""
        await pilot.press("escape")
        await until(lambda: view.line_count == 104)
        # W wraps a long line to the width, and back.
        oplog.append(log, ["x" * 300])
        await until(lambda: view.lines[-1] == "x" * 300)
        await pilot.press("W")
        width = view.scrollable_content_region.width
        assert view.lines[-1] == "x" * (300 % width) and len(view.lines) > 105
        await pilot.press("W")
        assert view.lines[-1] == "x" * 300
        # z: the log over the whole screen, and back.
        workspaces = app.query_one("#workspaces-pane")
        await pilot.press("z")
        await pilot.pause()
        assert not workspaces.display and view.size.height > 20
        await pilot.press("z")
        await pilot.pause()
        assert workspaces.display

    run(engine, scenario)


def test_sort_cycles_through_name_status_and_last_used(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, ("web", "api", "zed"))
    soon = time.time() + 100
    for name, when in (("api", soon), ("zed", soon - 50)):  # web: never used, made now
        used.mark(str(tmp_path), name)
        os.utime(tmp_path / "used" / name, (when, when))

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        def order() -> list[str]:
            return [row[0] for row in rows(app, "#workspaces")]

        title = app.query_one("#workspaces-title", Static)
        await until(lambda: order() == ["api", "web", "zed"])
        await pilot.press("S")
        await until(lambda: order() == ["api", "zed", "web"])  # NotFound before Running
        assert str(title.render()) == "2 Workspaces (by status)"
        await pilot.press("S")
        await until(lambda: str(title.render()) == "2 Workspaces (last used first)")
        assert order() == ["api", "zed", "web"]  # most recently used first
        assert str(title.render()) == "2 Workspaces (last used first)"
        app.select_workspace("zed")
        await pilot.pause()
        assert "used:" in str(app.query_one("#details-text", Static).render())
        await pilot.press("S")
        assert order() == ["api", "web", "zed"] and str(title.render()) == "2 Workspaces"

    run(engine, scenario)


def test_notification_history_keeps_every_result_and_error(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.notify("web is running")
        app.notify(
            "image not found\nhint: check its name", title="creating x failed", severity="error"
        )
        app.clear_notifications()  # the toasts are gone; the history is not
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, History)
        cells = rows(app, "#history-table")
        assert [row[1:] for row in cells] == [
            ["info", "web is running"],
            ["error", "creating x failed: image not found hint: check its name"],
        ]
        await pilot.press("escape")
        assert not isinstance(app.screen, History)

    run(engine, scenario)


def test_a_provider_with_nothing_to_poll_is_tested_not_called_reachable(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """B5: an AWS provider without credentials and without workspaces was shown `yes`. Nothing
    is polled for it, so its connection test says whether it can be reached."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from podbay import providers

    engine, endpoint = make_engine(tmp_path)
    engine.store.save_provider(
        ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"})
    )
    engine.providers.factory = lambda c: (
        providers.load(c) if c.type == "aws" else FakeProvider(endpoint)
    )

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await until(lambda: rows(app, "#providers")[0][3] != "…")
        assert rows(app, "#providers")[0] == ["cloud", "aws", "", "no: no AWS credentials found"]
        assert rows(app, "#providers")[1][3] == "yes"  # docker: its poll answered

    run(engine, scenario)


def test_keys_typed_right_after_tab_go_to_the_next_field(tmp_path: Path) -> None:
    """B16: `tab tab nm` in one burst (a paste, tmux send-keys) typed nm into the field tab
    left, because the keys were handed to it before tab had moved the focus."""
    from textual import events

    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewWorkspace))
        await pilot.pause()
        for key, char in (
            ("s", "s"),
            ("r", "r"),
            ("c", "c"),
            ("tab", None),
            ("tab", None),
            ("n", "n"),
            ("m", "m"),
        ):
            app.post_message(events.Key(key, char))  # all queued before any is handled
        await pilot.pause()
        assert app.screen.query_one("#source", Input).value == "src"
        assert app.screen.query_one("#name", Input).value == "nm"
        await pilot.press("escape")
        # `l` then `/` then a search, all queued at once: the search gets the text (`f` used to
        # open the forward prompt, as the focus had not reached the search box yet).
        await until(lambda: not isinstance(app.screen, NewWorkspace))
        for key, char in (("l", "l"), ("slash", "/"), ("f", "f"), ("r", "r"), ("o", "o")):
            app.post_message(events.Key(key, char))
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no prompt opened
        assert app.query_one("#log-search", Input).value == "fro"

    run(engine, scenario)


def test_a_dialog_opens_without_toasts_over_it(tmp_path: Path) -> None:
    """B14: at 80x24 a toast covered the delete dialog's buttons."""
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.notify("No `code` command here. Open: vscode://vscode-remote/...", timeout=20)
        await pilot.pause()
        assert len(app._notifications) == 1  # a toast on screen
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.pause()
        assert not app._notifications
        assert "No `code` command here" in app.history[-1].message  # kept for `!`

    run(engine, scenario, size=(80, 24))


def test_the_log_keeps_following_across_resizes(tmp_path: Path) -> None:
    """B8: after a resize the Logs tab stopped following (the view was no longer at its end)."""
    engine, _ = make_engine(tmp_path, ("web",))
    log = oplog.path(paths.logs_dir(tmp_path), "web")
    oplog.append(log, [f"tick {i}" for i in range(200)])

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        view = app.query_one(LogView)
        await pilot.press("l")
        await until(lambda: view.line_count == 200)
        for size in ((80, 24), (120, 35), (60, 20)):
            await pilot.resize_terminal(*size)
            last = f"after {size}"
            oplog.append(log, [last])
            await until(lambda: view.lines[-1] == last)  # noqa: B023 (awaited here)
            await until(lambda: view.is_vertical_scroll_end)
            assert view.follow

    run(engine, scenario, size=(100, 30))


def test_setup_survives_ctrl_s_on_its_first_step_and_a_change_of_type(tmp_path: Path) -> None:
    """Ctrl+S before a type was chosen, and Back to choose another type, used to crash."""
    engine, _ = make_engine(tmp_path, names=())

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.push_screen(ProviderSetup(None, {"docker"}))
        await pilot.pause()
        screen = app.screen
        question = screen.query_one("#question", Static)
        await pilot.press("ctrl+s")  # as Next: the type first
        await until(lambda: "step 2 of 4" in str(question.render()))
        assert screen.query_one("#name", Input).value == "docker-2"
        screen.query_one("#back", Button).press()
        await until(lambda: "step 1 of 4" in str(question.render()))
        await until(lambda: isinstance(app.focused, OptionList))
        await pilot.press("down", "enter")  # aws now
        await until(lambda: bool(screen.query("#opt-region")))
        assert screen.query_one("#name", Input).value == "aws"
        assert not screen.query("#opt-host")

    run(engine, scenario)


def test_d_removes_a_provider_with_no_workspace_selected(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=())
    engine.store.save_provider(ProviderConfig(name="spare", type="docker"))

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.query_one("#providers", DataTable).focus()
        await pilot.press("j", "d")
        await until(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(lambda: [r[0] for r in rows(app, "#providers")] == ["docker"])

    run(engine, scenario)


def test_history_shows_text_from_elsewhere_as_it_is(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.notify("bad port '[/x]' in [draft]/notes", severity="error")
        await pilot.press("exclamation_mark")
        await until(lambda: isinstance(app.screen, History))
        assert rows(app, "#history-table")[-1][2] == "bad port '[/x]' in [draft]/notes"

    run(engine, scenario)


def test_ports_list_each_port_once_and_each_forward(tmp_path: Path) -> None:
    """forwardPorts naming a port twice shows it once; one port forwarded twice (two local
    ports) shows both forwards (the same key twice crashed the table)."""
    from podbay.core.ssh.client import Forward
    from podbay.tui.widgets.ports_table import OpenForward, PortsTable

    engine, _ = make_engine(tmp_path, ("web",))
    web = engine.store.workspace("web")
    web.forward_ports = [3000, "3000", 4000, "localhost:4000"]
    engine.store.save_workspace(web)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        worker: Any = None
        app.forwards["web"] = [
            OpenForward(Forward(5000, "localhost", 5000), worker),
            OpenForward(Forward(41000, "localhost", 5000, "local port 5000 was busy"), worker),
        ]
        app.render_details()
        await pilot.pause()
        table = app.query_one(PortsTable)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [row[:2] for row in cells] == [
            ["5000", "http://127.0.0.1:5000"],
            ["5000", "http://127.0.0.1:41000"],
            ["3000", "-"],
            ["4000", "-"],
        ]

    run(engine, scenario)


def test_a_rooms_members_stay_together_bracketed_with_its_summary(tmp_path: Path) -> None:
    """Members of a room (up --count --prefix) are shown together, whatever the sort, with
    a bracket before their names; a member's details sum up its room."""
    engine, _ = make_engine(tmp_path, ("alpha", "zeta"))
    for name in ("ws-1", "ws-2", "ws-3"):
        engine.store.insert_workspace(
            Workspace(
                name=name,
                provider="docker",
                source=Source(kind="folder", value="/src/class"),
                folder="/src/class",
                owned_folder=False,
                container_name=name,
                phase="ready",
                room="ws-",
            )
        )
    # Another workspace whose name starts the same is not of the room.
    engine.store.insert_workspace(
        Workspace(
            name="ws-own",
            provider="docker",
            source=Source(kind="folder", value="/src/own"),
            folder="/src/own",
            owned_folder=False,
            container_name="ws-own",
            phase="ready",
        )
    )

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        names = [r[0] for r in rows(app, "#workspaces")]
        assert names == ["alpha", "┌ ws-1", "│ ws-2", "└ ws-3", "ws-own", "zeta"]
        await pilot.press("s")  # by status: all are NotFound here but one; the room stays whole
        await pilot.pause()
        names = [r[0] for r in rows(app, "#workspaces")]
        start = names.index("┌ ws-1")
        assert names[start : start + 3] == ["┌ ws-1", "│ ws-2", "└ ws-3"]
        app.query_one(WorkspaceTable).select("ws-2")
        await pilot.pause()
        details = str(app.query_one("#details-text", Static).render())
        assert (
            "room:      ws- · 3 workspaces: 3 NotFound (remove all: podbay delete --prefix ws-)"
            in details
        )

    run(engine, scenario)
