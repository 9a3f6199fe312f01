"""Where a workspace runs, as the engine sees it: a HostSession runs commands, reads and writes
files and reaches the Docker engine of one machine (this computer, or a machine of its own over
SSH). A provider (core/provider.py) opens one for each operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from podbay.core.docker import DockerEndpoint

# A question a program on the machine asks podbay over `serve`: its request (bytes up to a
# blank line) in, the answer out.
Answer = Callable[[bytes], Awaitable[bytes]]


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
        forward_agent: bool = False,
    ) -> int:
        """Run a command on the machine, passing each line of its output (stdout and stderr
        together) to `on_line` as it comes; returns the exit status. `forward_agent`: the
        command (and only it) may use this computer's ssh-agent."""
        ...

    def serve(self, path: str, answer: Answer) -> contextlib.AbstractAsyncContextManager[None]:
        """While open: a unix socket at `path` on the machine; each connection's request (up
        to a blank line) is answered here by `answer`."""
        ...

    # Files on the machine, by absolute path. Errors are OSError, as pathlib raises them.

    async def exists(self, path: str) -> bool: ...

    async def read_bytes(self, path: str) -> bytes: ...

    async def write_bytes(self, path: str, data: bytes) -> None: ...

    async def list_dir(self, path: str) -> list[str]:
        """Names in a folder ([] when there is no such folder)."""
        ...

    async def mkdirs(self, path: str) -> None:
        """Make the folder and its parents (nothing when it is there)."""
        ...

    async def rename(self, src: str, dest: str) -> None:
        """Move `src` to `dest`, which must not exist."""
        ...

    async def remove_tree(self, path: str) -> None:
        """Remove a folder and everything in it (nothing when it is not there)."""
        ...

    async def copy_in(self, source: Path, dest: str) -> None:
        """Copy a folder of this computer to `dest` on the machine (made; must not exist)."""
        ...

    async def copy_out(self, folder: str, names: list[str], dest: Path) -> None:
        """Copy the named entries of a folder on the machine (those there) into `dest` here."""
        ...

    async def close(self) -> None: ...


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
        forward_agent: bool = False,
    ) -> int:
        # forward_agent: a local command has this computer's agent already (SSH_AUTH_SOCK).
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

    @contextlib.asynccontextmanager
    async def serve(self, path: str, answer: Answer) -> AsyncIterator[None]:
        async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reply(reader, writer, answer)

        server = await asyncio.start_unix_server(one, path)
        try:
            yield
        finally:
            server.close()
            Path(path).unlink(missing_ok=True)

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(os.path.lexists, path)

    async def read_bytes(self, path: str) -> bytes:
        return await asyncio.to_thread(Path(path).read_bytes)

    async def write_bytes(self, path: str, data: bytes) -> None:
        await asyncio.to_thread(Path(path).write_bytes, data)

    async def list_dir(self, path: str) -> list[str]:
        try:
            return sorted(await asyncio.to_thread(os.listdir, path))
        except (FileNotFoundError, NotADirectoryError):
            return []

    async def mkdirs(self, path: str) -> None:
        await asyncio.to_thread(os.makedirs, path, exist_ok=True)

    async def rename(self, src: str, dest: str) -> None:
        if await self.exists(dest):
            raise FileExistsError(errno.EEXIST, "already there", dest)
        await asyncio.to_thread(os.rename, src, dest)

    async def remove_tree(self, path: str) -> None:
        if os.path.islink(path):
            os.unlink(path)  # the link only, never what it points at
        else:
            await asyncio.to_thread(shutil.rmtree, path, True)

    async def copy_in(self, source: Path, dest: str) -> None:
        ignore = shutil.ignore_patterns("__pycache__")
        await asyncio.to_thread(shutil.copytree, source, dest, symlinks=True, ignore=ignore)

    async def copy_out(self, folder: str, names: list[str], dest: Path) -> None:
        def work() -> None:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True, mode=0o700)
            for name in names:
                entry = Path(folder) / name
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, dest / name, symlinks=True)
                elif os.path.lexists(entry):
                    shutil.copy2(entry, dest / name, follow_symlinks=False)

        await asyncio.to_thread(work)

    async def close(self) -> None:
        return None


REQUEST_LIMIT = 64 * 1024


async def reply(reader: Any, writer: Any, answer: Answer) -> None:
    """One connection of `serve`: read the request up to a blank line, write the answer."""
    try:
        request = await reader.readuntil(b"\n\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        request = b""
    try:
        if 0 < len(request) <= REQUEST_LIMIT:
            writer.write(await answer(request))
    finally:
        writer.close()
