"""Running lifecycle hooks: initializeCommand on the host, the others in the container."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from core.devcontainer.plan import Plan, hook_argvs
from core.docker import DockerEndpoint
from core.errors import HookFailed
from core.host import HostSession
from core.model import Workspace
from core.reporter import Reporter, prefixed


async def run_initialize(plan: Plan, ws: Workspace, host: HostSession, report: Reporter) -> None:
    """initializeCommand, on the host in the source folder, every up."""
    assert plan.initialize_command is not None
    report.step("running initializeCommand on the host")
    for label, argv in hook_argvs(plan.initialize_command):
        result = await host.run(argv, cwd=ws.folder)
        for line in (result.stdout + result.stderr).splitlines():
            report.log(f"[{label}] {line}" if label else line)
        if result.returncode != 0:
            raise HookFailed(
                f"initializeCommand failed with exit code {result.returncode}",
                f"fix it in {ws.config_path}, then run: podbay up {ws.name}",
            )


async def run_in_container(
    ws: Workspace, hook: str, plan: Plan, docker: DockerEndpoint, report: Reporter
) -> None:
    """One lifecycle hook in the container: as the remote user, in the workspace folder, with
    remoteEnv; the parts of an object form run in parallel; output is streamed."""
    report.step(f"running {hook}")
    report.bind_loop()
    assert ws.container_id is not None
    container_id = ws.container_id

    streams: list[Any] = []
    stopped = threading.Event()

    def run_one(label: str | None, argv: list[str]) -> int:
        output, exit_code = docker.exec_stream(
            container_id, argv, ws.remote_user, plan.workspace_folder, ws.remote_env
        )
        streams.append(output)
        if stopped.is_set():  # cancelled while the command was being started
            output.close()
        pending = b""
        for chunk in output:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                report.log_threadsafe(prefixed(label, line))
        if pending:
            report.log_threadsafe(prefixed(label, pending))
        return exit_code()

    parts = hook_argvs(plan.hooks[hook])
    try:
        codes = await asyncio.gather(*(asyncio.to_thread(run_one, lb, argv) for lb, argv in parts))
    except asyncio.CancelledError:
        # Cancelled (Ctrl-C, the TUI's cancel): stop reading so no thread outlives us.
        # The command itself runs on in the container until it ends or the container stops.
        stopped.set()
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()
        raise
    failed = [(label, code) for (label, _), code in zip(parts, codes, strict=True) if code]
    if failed:
        label, code = failed[0]
        which = f"{hook} ({label})" if label else hook
        raise HookFailed(
            f"{which} failed with exit code {code}",
            f"the workspace is kept; fix the command, then run: podbay up {ws.name}",
        )
