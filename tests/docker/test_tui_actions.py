"""TUI actions against the real engine and Docker: stop, up, rebuild, delete, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
from textual.widgets import Button, DataTable, Static

from podbay import providers
from podbay.core.engine import Engine, UpRequest
from podbay.core.store import Store
from podbay.tui.app import PodbayApp
from podbay.tui.operations import Operation
from podbay.tui.screens.confirm import Confirm
from podbay.tui.widgets.log_view import LogView
from tests.conftest import BUSYBOX, IMAGE, Podbay, write_config
from tests.docker.test_data_safety import repo_with_initialize_command
from tests.docker.test_sources import make_repo


async def until(condition: Callable[[], object], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def log_lines(app: PodbayApp) -> list[str]:
    """What the Logs tab holds (the selected workspace's log)."""
    return list(app.query_one(LogView).lines)


def status_of(app: PodbayApp, name: str) -> str:
    status = app.statuses.get(name)
    return "" if status is None else str(status.status)


def run(podbay: Podbay, scenario: Callable[[PodbayApp, Any], Any]) -> None:
    async def main() -> None:
        engine = Engine(Store(podbay.home), providers.load, origin="TUI")
        app = PodbayApp(engine, poll_seconds=0.5)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await until(lambda: app.statuses or not Store(podbay.home).workspaces())
            await scenario(app, pilot)

    asyncio.run(main())


def test_stop_up_rebuild_delete_with_keys(podbay: Podbay) -> None:
    write_config(podbay.cwd / "keys", {"image": IMAGE, "postStartCommand": "echo started-now"})
    podbay.ok("up", "keys")
    first_container = podbay.status("keys")["containerId"]

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("s")
        await until(lambda: status_of(app, "keys") == "Stopped" and not app.operations)
        # The Logs tab shows the log file: the CLI's `up` before the TUI started, then the stop.
        await pilot.press("l")
        assert app.focused is app.query_one("#log")
        await until(
            lambda: any(line.endswith(" stop (from the TUI) ---") for line in log_lines(app))
        )
        assert any(line.endswith(" up (from the CLI) ---") for line in log_lines(app))
        started = log_lines(app).count("started-now")
        await pilot.press("u")
        await until(lambda: status_of(app, "keys") == "Running" and not app.operations)
        # The operation's events streamed into the Logs tab.
        await until(lambda: log_lines(app).count("started-now") == started + 1)
        # L: the container's own output, as `podbay logs --container` shows it; l goes back.
        await pilot.press("L")
        await until(lambda: "Container started" in log_lines(app))
        await pilot.press("l")
        await until(lambda: "started-now" in log_lines(app))
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await until(lambda: status_of(app, "keys") == "Running" and not app.operations)
        assert Store(podbay.home).workspace("keys").container_id != first_container
        app.query_one("#workspaces").focus()
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, Confirm) and bool(app.screen.query("#detail")))
        await pilot.press("y")
        await until(lambda: "keys" not in app.statuses)
        assert any("keys is deleted" in n.message for n in app._notifications)

    run(podbay, scenario)
    assert podbay.json("list") == []
    assert (podbay.cwd / "keys" / ".devcontainer" / "devcontainer.json").exists()


def test_a_failing_operation_ends_in_a_notification_not_a_crash(podbay: Podbay) -> None:
    write_config(podbay.cwd / "bad", {"image": IMAGE, "postStartCommand": "exit 4"})
    podbay.ok("provider", "list")  # first run: the default docker provider

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.start_operation("bad", Operation.CREATING, UpRequest(source=str(podbay.cwd / "bad")))
        await until(lambda: not app.operations)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "postStartCommand failed with exit code 4" in errors[0].message
        await until(lambda: status_of(app, "bad") == "Error")

    run(podbay, scenario)


def test_a_failed_create_stays_in_error_to_read_and_delete(podbay: Podbay) -> None:
    """B17: a create that fails before anything is made (an image nobody can pull) leaves a
    row in Error: selected, its reason in Details, its log in Logs, and d deletes it."""
    write_config(podbay.cwd / "nopull", {"image": "127.0.0.1:9/podbay/none:1"})
    podbay.ok("provider", "list")

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        request = UpRequest(source=str(podbay.cwd / "nopull"))
        app.start_operation("nopull", Operation.CREATING, request)
        await until(lambda: not app.operations and status_of(app, "nopull") == "Error")
        assert app.selected_name() == "nopull"
        details = str(app.query_one("#details-text", Static).render())
        assert "could not be pulled" in details and "press u to try again" in details
        await pilot.press("l")
        await until(lambda: any("could not be pulled" in line for line in log_lines(app)))
        app.query_one("#workspaces").focus()
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, Confirm) and bool(app.screen.query("#detail")))
        await pilot.press("y")
        await until(lambda: "nopull" not in app.statuses)

    run(podbay, scenario)
    assert (podbay.cwd / "nopull" / ".devcontainer" / "devcontainer.json").exists()


def test_two_operations_run_at_once(podbay: Podbay) -> None:
    for name in ("one", "two"):
        write_config(podbay.cwd / name, {"image": IMAGE})
        podbay.ok("up", name)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await until(lambda: len(app.statuses) == 2)
        app.start_operation("one", Operation.STOPPING)
        app.start_operation("two", Operation.STOPPING)
        assert app.operations == {"one": "stopping", "two": "stopping"}
        await until(lambda: not app.operations)
        await until(lambda: status_of(app, "one") == status_of(app, "two") == "Stopped")

    run(podbay, scenario)


def test_cancel_a_running_up(podbay: Podbay) -> None:
    write_config(podbay.cwd / "slow", {"image": IMAGE, "postCreateCommand": "sleep 600"})
    podbay.ok("provider", "list")

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.start_operation("slow", Operation.CREATING, UpRequest(source=str(podbay.cwd / "slow")))
        await until(lambda: "slow" in app.statuses)
        app.select_workspace("slow")
        await until(lambda: "==> running postCreateCommand" in log_lines(app))
        await pilot.press("c")
        await until(lambda: not app.operations)
        assert [n.message for n in app._notifications][-1] == (
            "creating slow cancelled; press u to finish it"
        )
        # B9: the hook's command is stopped in the container, and the workspace is Incomplete.
        container_id = Store(podbay.home).workspace("slow").container_id
        assert container_id is not None
        container = docker.from_env().containers.get(container_id)
        assert not any("sleep 600" in " ".join(p) for p in container.top()["Processes"])
        await until(lambda: status_of(app, "slow") == "Incomplete")
        assert "stopped postCreateCommand" in " ".join(log_lines(app))
        details = str(app.query_one("#details-text", Static).render())
        assert "its last `up` was interrupted before it finished; press u to finish it" in details

    run(podbay, scenario)


def test_open_code_with_and_without_a_code_command(
    podbay: Podbay, tmp_path: Any, monkeypatch: Any
) -> None:
    write_config(podbay.cwd / "ide", {"image": IMAGE})
    podbay.ok("up", "ide")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "code").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/code-args\n')
    (fake / "code").chmod(0o755)

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
        await pilot.press("o")
        await until(lambda: any("vscode://" in n.message for n in app._notifications))
        monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
        await pilot.press("o")
        await until(lambda: any("opened VS Code" in n.message for n in app._notifications))

    run(podbay, scenario)
    assert (tmp_path / "code-args").read_text().split() == [
        "--folder-uri",
        "vscode-remote://ssh-remote+ide.podbay/workspaces/ide",
    ]


def test_each_workspace_opens_the_ide_chosen_for_it(podbay: Podbay, tmp_path: Any) -> None:
    """B18: the IDE column is real. I chooses a workspace's IDE in the TUI (as `podbay ide`),
    o and `podbay code` open that one; without SSH the column says so."""
    write_config(podbay.cwd / "ide", {"image": IMAGE})
    write_config(podbay.cwd / "bare", {"image": BUSYBOX})
    podbay.ok("up", "ide")
    podbay.ok("up", "bare", env={"PODBAY_TEST_NO_SSHD_BUNDLE": "1"})  # no sshd to be had
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "cursor").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/cursor-args\n')
    (fake / "cursor").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin"}

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        from podbay.tui.screens.choose_ide import ChooseIde

        await until(lambda: len(app.statuses) == 2)
        assert ide_cells(app) == {"bare": "no ssh", "ide": "vscode"}
        app.select_workspace("ide")
        await pilot.press("I")
        await until(lambda: isinstance(app.screen, ChooseIde))
        await pilot.press("down", "down", "down", "enter")  # VS Code, Insiders, Cursor
        await until(lambda: ide_cells(app)["ide"] == "cursor")

    run(podbay, scenario)
    assert podbay.ok("ide", "ide").stdout == "ide: cursor\n"
    opened = podbay.json("code", "ide", env=env)
    assert opened["ide"] == "cursor" and opened["opened"]
    assert (tmp_path / "cursor-args").read_text().split() == [
        "--folder-uri",
        "vscode-remote://ssh-remote+ide.podbay/workspaces/ide",
    ]
    gateway = podbay.json("code", "ide", "--ide", "jetbrains")
    assert gateway["url"] == (
        "jetbrains-gateway://connect#type=ssh&deploy=false&host=ide.podbay&port=22&user=root"
        "&projectPath=%2Fworkspaces%2Fide"
    )
    podbay.ok("ide", "--default", "insiders")
    podbay.ok("ide", "ide", "default")
    assert podbay.ok("ide", "ide").stdout == "ide: insiders (the default)\n"
    bad = podbay("ide", "ide", "emacs")
    assert bad.returncode == 1 and "unknown IDE 'emacs'" in bad.stderr


def ide_cells(app: PodbayApp) -> dict[str, str]:
    table = app.query_one("#workspaces", DataTable)
    return {
        str(row[0]): str(row[4]) for row in (table.get_row_at(i) for i in range(table.row_count))
    }


def test_ports_are_a_managed_list(podbay: Podbay) -> None:
    """B7: forwardPorts are listed and proposed by f, a forward is not made twice, d stops it,
    and forwards go when their workspace stops."""
    import docker

    from tests.docker.conftest import fetch
    from tests.registries import free_port

    local = free_port()
    write_config(podbay.cwd / "ports", {"image": IMAGE, "forwardPorts": [8126, 8127]})
    podbay.ok("up", "ports")
    container = podbay.status("ports")["containerId"]
    docker.from_env().containers.get(container).exec_run(
        ["python3", "-m", "http.server", "8126", "--bind", "127.0.0.1", "-d", "/etc"], detach=True
    )

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        from textual.widgets import Input, Static

        from podbay.tui.screens.prompt import Prompt
        from podbay.tui.widgets.ports_table import PortsTable

        table = app.query_one(PortsTable)
        await until(
            lambda: (
                rows_of(table)
                == [
                    ["8126", "-", "in forwardPorts; f forwards it"],
                    ["8127", "-", "in forwardPorts; f forwards it"],
                ]
            )
        )
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, Prompt)
        answer = app.screen.query_one(Input)
        assert answer.value == "8126"  # the first of forwardPorts
        answer.value = "http"
        await pilot.press("enter")
        assert "bad port" in str(app.screen.query_one("#error", Static).render())
        answer.value = f"8126:{local}"
        await pilot.press("enter")
        await until(lambda: rows_of(table)[0][:2] == ["8126", f"http://127.0.0.1:{local}"])
        url = f"http://127.0.0.1:{local}/hostname"
        assert (await asyncio.to_thread(fetch, url)).strip() == container[:12]

        # The same port again is refused, naming where it is; f now proposes the next one.
        await pilot.press("f")
        await pilot.pause()
        answer = app.screen.query_one(Input)
        assert answer.value == "8127"
        answer.value = "8126"
        await pilot.press("enter")
        error = str(app.screen.query_one("#error", Static).render())
        assert error == f"port 8126 is forwarded already, at http://127.0.0.1:{local}"
        await pilot.press("escape")

        # d on the forward (in the Ports tab) stops it; nothing listens there any more.
        await pilot.press("3", "right_square_bracket", "right_square_bracket")
        table.focus()
        await pilot.press("d")
        await until(lambda: rows_of(table)[0] == ["8126", "-", "in forwardPorts; f forwards it"])
        assert not isinstance(app.screen, Confirm)  # the workspace itself is not touched
        assert await asyncio.to_thread(refused, local)

        # A forward of a workspace that stops goes with it.
        app.query_one("#workspaces").focus()
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("enter")  # 8126, on any free port
        await until(lambda: rows_of(table)[0][2] == "forwarded")
        await pilot.press("s")
        await until(lambda: status_of(app, "ports") == "Stopped" and not app.forwards["ports"])
        assert rows_of(table)[0] == ["8126", "-", "in forwardPorts; f forwards it"]

    run(podbay, scenario)


def rows_of(table: Any) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def refused(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_the_delete_dialog_lists_the_work_that_would_be_lost(
    podbay: Podbay, tmp_path: Path
) -> None:
    make_repo(tmp_path / "repo")
    podbay.ok("up", f"file://{tmp_path}/repo")
    clone = podbay.home / "sources" / "repo"
    (clone / "notes.txt").write_text("mine\n")

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, Confirm) and bool(app.screen.query("#detail")))
        detail = str(app.screen.query_one("#detail", Static).render())
        assert "This work would be lost" in detail and "1 untracked file (notes.txt)" in detail
        assert "Delete anyway" in str(app.screen.query_one("#confirm", Button).label)
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        await pilot.press("y")
        await until(lambda: "repo" not in app.statuses)

    run(podbay, scenario)
    assert not clone.exists()


def test_a_cloned_repositorys_initialize_command_is_asked_about_in_a_dialog(
    podbay: Podbay, tmp_path: Path
) -> None:
    url, marker = repo_with_initialize_command(tmp_path / "asked")
    podbay.ok("list")  # a first run: the local Docker provider

    async def scenario(app: PodbayApp, pilot: Any) -> None:
        app.start_operation("asked", Operation.CREATING, UpRequest(source=url))
        await until(lambda: isinstance(app.screen, Confirm) and bool(app.screen.query("#detail")))
        assert f"touch {marker}" in str(app.screen.query_one("#detail", Static).render())
        assert not marker.exists()
        await pilot.press("y")
        await until(lambda: status_of(app, "asked") == "Running" and not app.operations)
        assert marker.exists()

    run(podbay, scenario)
