"""The seam between the engine and where a workspace runs.

A provider (local Docker, later an EC2 VM) prepares a machine and opens a HostSession on it:
a way to run commands there and reach its Docker engine. The engine is written against these
protocols only, so core never imports a provider.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from typing import Protocol

from core.docker import DockerEndpoint


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str


class HostSession(Protocol):
    """An open connection to a machine."""

    docker: DockerEndpoint

    async def run(
        self, argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None
    ) -> RunResult:
        """Run a command on the machine and collect its output."""
        ...

    async def close(self) -> None: ...


class MachineProvider(Protocol):
    """What the engine needs from a configured provider."""

    name: str

    async def ensure_machine(self, workspace: str) -> None:
        """Create or start the workspace's machine (nothing to do for the local engine)."""
        ...

    async def open_host(self, workspace: str) -> HostSession: ...

    async def stop_machine(self, workspace: str) -> None: ...

    async def delete_machine(self, workspace: str) -> None: ...

    def endpoint(self) -> DockerEndpoint:
        """The Docker engine that status polls ask (one call per provider)."""
        ...


class LocalHost:
    """This machine: commands run as subprocesses, Docker is the given endpoint."""

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
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except FileNotFoundError:
                return RunResult(127, "", f"{argv[0]}: command not found")
            return RunResult(done.returncode, done.stdout, done.stderr)

        return await asyncio.to_thread(work)

    async def close(self) -> None:
        return None
