"""The seam between the engine and where a workspace runs.

A provider (local Docker, an EC2 VM) prepares a machine and opens a HostSession on it:
a way to run commands there and reach its Docker engine. The engine is written against these
protocols only, so core never imports a provider.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from core.docker import DockerEndpoint
from core.model import Workspace
from core.reporter import Reporter
from core.ssh.keys import WorkspaceKeys


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str


class HostSession(Protocol):
    """An open connection to a machine."""

    docker: DockerEndpoint
    local: bool  # commands run on this computer (files are shared with it)

    async def run(
        self, argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None
    ) -> RunResult:
        """Run a command on the machine and collect its output."""
        ...

    async def run_stream(
        self,
        argv: list[str],
        on_line: Callable[[str], None],
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> int:
        """Run a command on the machine, passing each line of its output (stdout and stderr
        together) to `on_line` as it comes; returns the exit status."""
        ...

    async def close(self) -> None: ...


class RemoteHost(HostSession, Protocol):
    """A machine of its own (an EC2 instance): files travel to and from it."""

    async def exists(self, path: str) -> bool: ...

    async def upload_tree(self, source: Path, dest: str) -> None: ...

    async def fetch_tree(self, folder: str, names: list[str], dest: Path) -> None: ...


@dataclass
class MachineJob:
    """One operation on a workspace's machine, as the engine hands it to a provider."""

    workspace: Workspace
    keys: WorkspaceKeys
    install_id: str
    report: Reporter
    save: Callable[[], None]  # persist workspace.machine now (crash safety)


class MachineProvider(Protocol):
    """What the engine needs from a configured provider."""

    name: str
    # True: one machine per workspace (EC2); stop and delete act on the machine, status comes
    # from the machine, not from its containers.
    dedicated_machine: ClassVar[bool]

    def folder_for(self, workspace: str) -> str | None:
        """Where a new workspace's files live on its machine; None: this computer's rules."""
        ...

    async def ensure_machine(self, job: MachineJob) -> None:
        """Create or start the workspace's machine (nothing to do for the local engine)."""
        ...

    async def open_host(self, job: MachineJob) -> HostSession: ...

    async def stop_machine(self, job: MachineJob) -> None: ...

    async def delete_machine(self, job: MachineJob) -> None: ...

    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, dict[str, Any]]:
        """Live state by workspace name, as docker's container list shapes it (State, Status,
        Image), plus "Machine" for a dedicated machine. One API call per provider."""
        ...


class LocalHost:
    """This machine: commands run as subprocesses, Docker is the given endpoint."""

    local = True

    def __init__(self, docker: DockerEndpoint) -> None:
        self.docker = docker

    async def run(
        self, argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None
    ) -> RunResult:
        def work() -> RunResult:
            try:
                done = subprocess.run(
                    argv,
                    cwd=cwd,
                    env={**os.environ, **(env or {})},
                    capture_output=True,
                    text=True,
                    errors="replace",  # file names and output need not be UTF-8
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except FileNotFoundError:
                return RunResult(127, "", f"{argv[0]}: command not found")
            return RunResult(done.returncode, done.stdout, done.stderr)

        return await asyncio.to_thread(work)

    async def run_stream(
        self,
        argv: list[str],
        on_line: Callable[[str], None],
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> int:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except FileNotFoundError:
            on_line(f"{argv[0]}: command not found")
            return 127
        assert process.stdout is not None
        try:
            async for line in process.stdout:
                on_line(line.decode("utf-8", "replace").rstrip("\r\n"))
            return await process.wait()
        except BaseException:
            # Cancelled: the command must not outlive the operation that started it.
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise

    async def close(self) -> None:
        return None
