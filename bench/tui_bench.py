"""The TUI with 500 workspaces over 3 providers: first paint, memory, calls per poll, key latency.

- first paint: from starting `podbay` in a fresh tmux server until the workspaces pane shows
  rows (capture-pane polled every 5 ms), median of N runs;
- peak RSS of the podbay process (VmHWM) once painted;
- Docker calls of one status poll, counted in-process;
- key latency while polling: the largest event-loop stall while polls are fetched and applied
  (a key press waits at most that long), measured headless with a 2 ms ticker.
Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
PODBAY = str(Path(sys.executable).parent / "podbay")


def populate(home: Path, count: int) -> None:
    from podbay.core.model import ProviderConfig, Source, Workspace
    from podbay.core.store import Store

    store = Store(home)
    for name in ("docker", "docker-b", "docker-c"):
        options = {} if name == "docker" else {"host": "unix:///var/run/docker.sock"}
        store.save_provider(ProviderConfig(name=name, type="docker", options=options))
    store.set_meta("default_provider", "docker")
    store.set_meta("initialised", "1")
    providers = ["docker", "docker-b", "docker-c"]
    for i in range(count):
        store.insert_workspace(
            Workspace(
                name=f"ws-{i:03d}",
                provider=providers[i % 3],
                source=Source(kind="folder", value=f"/home/dev/src/project-{i:03d}"),
                folder=f"/home/dev/src/project-{i:03d}",
                owned_folder=False,
                container_name=f"ws-{i:03d}",
                phase="ready",
                # Ages as a team's are (days): the AGE column changes once a day, not each poll.
                created_at=time.time() - 86400 * (1 + i % 30),
            )
        )


def first_paint(home: Path) -> tuple[float, int]:
    """Seconds until rows show, and the process's peak RSS in KiB."""
    socket = f"podbay-bench-{uuid.uuid4().hex[:6]}"
    tmux = ["tmux", "-L", socket]
    pid_file = home / "tui.pid"
    command = f"echo $$ > {pid_file}; PODBAY_HOME={home} exec {PODBAY}"
    start = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40", command], check=True)
    try:
        while True:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=False
            ).stdout
            if "ws-000" in screen and "NotFound" in screen:
                elapsed = time.perf_counter() - start
                break
            if time.perf_counter() - start > 30:
                raise SystemExit(f"no rows after 30 s:\n{screen}")
            time.sleep(0.005)
        pid = pid_file.read_text().strip()
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1])
        return elapsed, rss
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False)


def output_rates(home: Path, seconds: float) -> tuple[float, float]:
    """Bytes per second the TUI writes to its terminal (tmux pipe-pane), idle and while one
    operation's spinner turns (a `stop` waiting for a lock this process holds)."""
    from podbay.core.store import Store

    socket = f"podbay-bench-{uuid.uuid4().hex[:6]}"
    tmux = ["tmux", "-L", socket]
    out = home / "tty.out"
    command = f"PODBAY_HOME={home} exec {PODBAY}"
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40", command], check=True)
    try:
        deadline = time.monotonic() + 30
        while (
            "ws-000"
            not in subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=False
            ).stdout
        ):
            if time.monotonic() > deadline:
                raise SystemExit("no rows after 30 s")
            time.sleep(0.05)
        time.sleep(1)  # the first polls settle

        def rate() -> float:
            out.write_bytes(b"")
            subprocess.run([*tmux, "pipe-pane", "-o", f"cat >> {out}"], check=True)
            time.sleep(seconds)
            subprocess.run([*tmux, "pipe-pane"], check=True)  # stops it
            return out.stat().st_size / seconds

        idle = rate()
        with Store(home).try_lock("ws-000", "bench (holding the lock)") as taken:
            assert taken
            subprocess.run([*tmux, "send-keys", "s"], check=True)  # ws-000 is selected
            time.sleep(1)
            spinning = rate()
        return idle, spinning
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False)


def calls_per_poll(home: Path) -> list[str]:
    from podbay import providers
    from podbay.core.docker import DockerEndpoint
    from podbay.core.engine import Engine
    from podbay.core.store import Store

    calls: list[str] = []
    # Every API request goes through one of these two (the SDK's, and the socket's own).
    real = {entry: getattr(DockerEndpoint, entry) for entry in ("call", "ask")}

    def counter(entry: str) -> Any:
        def counting(self: DockerEndpoint, what: str, *args: object, **kw: object) -> object:
            calls.append(what)
            return real[entry](self, what, *args, **kw)

        return counting

    engine = Engine(Store(home), providers.load)
    asyncio.run(engine.poll())  # clients connect (API version check) on first use
    for entry in real:
        setattr(DockerEndpoint, entry, counter(entry))
    try:
        asyncio.run(engine.poll())
    finally:
        for entry, method in real.items():
            setattr(DockerEndpoint, entry, method)
    return calls


def loop_stalls(home: Path, polls: int) -> list[float]:
    """Event-loop stalls (ms) while `polls` polls are fetched and applied, 500 rows each."""
    from textual.widgets import DataTable

    from podbay import providers
    from podbay.core.engine import Engine
    from podbay.core.store import Store
    from podbay.tui.app import PodbayApp

    stalls: list[float] = []

    async def main() -> None:
        app = PodbayApp(Engine(Store(home), providers.load), poll_seconds=None)
        async with app.run_test(size=(120, 40)):
            table = app.query_one("#workspaces", DataTable)
            while table.row_count < 500:
                await asyncio.sleep(0.01)
            applied = 0
            original = app.render_workspaces

            def counted() -> None:  # each applied poll renders the table once
                nonlocal applied
                original()
                applied += 1

            app.render_workspaces = counted  # type: ignore[method-assign]
            running = True

            async def ticker() -> None:
                last = time.perf_counter()
                while running:
                    await asyncio.sleep(0.002)
                    now = time.perf_counter()
                    stalls.append((now - last - 0.002) * 1000)
                    last = now

            task = asyncio.create_task(ticker())
            for _ in range(polls):
                target = applied + 1
                app.poll_status()
                while applied < target:
                    await asyncio.sleep(0.005)
            running = False
            await task

    asyncio.run(main())
    return stalls


def busy_stalls(home: Path, seconds: float) -> list[float]:
    """Event-loop stalls (ms) while 3 operations run (spinners: each waits for a lock this
    process holds), polls come every second, and the Logs tab follows a log growing by 50
    lines a second."""
    import contextlib
    import threading

    from podbay import providers
    from podbay.core import oplog, paths
    from podbay.core.engine import Engine
    from podbay.core.store import Store
    from podbay.tui.app import PodbayApp
    from podbay.tui.operations import Operation

    stalls: list[float] = []
    busy = ["ws-000", "ws-001", "ws-002"]
    log = oplog.path(paths.logs_dir(home), "ws-000")

    async def main() -> None:
        app = PodbayApp(Engine(Store(home), providers.load), poll_seconds=1.0)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.query_one("#workspaces").row_count < 500:  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
            with contextlib.ExitStack() as held:
                for name in busy:
                    held.enter_context(Store(home).try_lock(name, "bench"))
                    app.start_operation(name, Operation.STOPPING)
                app.select_workspace("ws-000")
                await pilot.press("l")
                stop = threading.Event()

                def writer() -> None:
                    n = 0
                    while not stop.wait(0.02):
                        oplog.append(log, [f"line {n} of a busy hook's output"])
                        n += 1

                thread = threading.Thread(target=writer)
                thread.start()
                last = time.perf_counter()
                end = last + seconds
                while last < end:
                    await asyncio.sleep(0.002)
                    now = time.perf_counter()
                    stalls.append((now - last - 0.002) * 1000)
                    last = now
                stop.set()
                thread.join()
            app.workers.cancel_all()

    asyncio.run(main())
    return stalls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workspaces", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podbay-tui-bench-"))
    home = work / "home"
    populate(home, args.workspaces)
    paints = [first_paint(home) for _ in range(args.repeat)]
    calls = calls_per_poll(home)
    stalls = loop_stalls(home, 10)
    idle, spinning = output_rates(home, 10)
    busy = sorted(busy_stalls(home, 10))
    print(
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {platform.node()}, {os.cpu_count()} cores. "
        f"{args.workspaces} workspaces over 3 providers.\n"
    )
    print("| measure | result |")
    print("| --- | --- |")
    print(
        f"| first paint with rows, from process start (tmux, median of {args.repeat}) | "
        f"{statistics.median(p[0] for p in paints):.2f} s "
        f"(min {min(p[0] for p in paints):.2f}, max {max(p[0] for p in paints):.2f}) |"
    )
    print(f"| peak RSS | {max(p[1] for p in paints) / 1024:.0f} MB |")
    print(f"| Docker calls in one status poll | {len(calls)} ({', '.join(sorted(set(calls)))}) |")
    stalls.sort()
    print(
        f"| event-loop stall while 10 polls are fetched and applied (bounds key latency) | "
        f"max {stalls[-1]:.0f} ms, p99 {stalls[int(len(stalls) * 0.99)]:.0f} ms |"
    )
    print(
        f"| event-loop stall while 3 operations run, polls come each second and the log "
        f"follows 50 lines/s (10 s) | max {busy[-1]:.0f} ms, "
        f"p99 {busy[int(len(busy) * 0.99)]:.0f} ms |"
    )
    print(
        f"| terminal output (tmux pipe-pane, 10 s each) | idle {idle / 1024:.2f} KB/s, "
        f"one spinner {spinning / 1024:.2f} KB/s |"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
