from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from podbay.core.model import Source, Workspace
from podbay.core.store import Store

HOLD_LOCK = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from podbay.core.store import Store

    async def main():
        async with Store(Path(sys.argv[1])).lock("ws", "up (from the CLI)"):
            print("locked", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _holder(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    proc = _holder(tmp_path)
    holder = store.lock_holder("ws")
    assert holder == "up (from the CLI)"
    with store.try_lock("ws", "test") as taken:
        assert not taken
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.lock_holder("ws") is None

    async def take() -> str:
        async with store.lock("ws", "up"):
            return "taken"

    assert asyncio.run(asyncio.wait_for(take(), timeout=5)) == "taken"


def test_waiting_for_a_lock_says_who_holds_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    proc = _holder(tmp_path)
    told: list[str] = []

    async def take() -> None:
        async with store.lock("ws", "up", told.append):
            pass

    async def scenario() -> None:
        task = asyncio.create_task(take())
        while not told:
            await asyncio.sleep(0.01)
        proc.kill()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    proc.wait()
    assert told == ["up (from the CLI)"]


def test_workspaces_round_trip_and_names_are_unique(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ws = Workspace(
        name="a",
        provider="docker",
        source=Source(kind="folder", value="/x"),
        folder="/x",
        owned_folder=False,
        container_name="podbay-a",
    )
    assert store.insert_workspace(ws)
    assert not store.insert_workspace(ws)
    ws.phase = "ready"
    store.save_workspace(ws)
    assert Store(tmp_path).workspace("a").phase == "ready"
    assert (tmp_path / "podbay.db").stat().st_mode & 0o777 == 0o600
    store.remove_workspace("a")
    assert store.find_workspace("a") is None


def test_install_id_is_stable(tmp_path: Path) -> None:
    assert Store(tmp_path).install_id() == Store(tmp_path).install_id()


def test_many_first_commands_at_once_share_a_new_database(tmp_path: Path) -> None:
    code = "import sys, pathlib, core.store; core.store.Store(pathlib.Path(sys.argv[1]))"
    for round_ in range(5):
        root = tmp_path / f"fresh{round_}"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(root)], stderr=subprocess.PIPE)
            for _ in range(6)
        ]
        errors = [p.communicate()[1].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, errors
        assert Store(root).workspaces() == []


def test_a_first_run_gets_the_local_docker_provider_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.ensure_defaults()
    assert [p.name for p in store.providers()] == ["docker"]
    assert store.get_meta("default_provider") == "docker"
    store.remove_provider("docker")  # the user's choice stands
    store.ensure_defaults()
    assert store.providers() == []
