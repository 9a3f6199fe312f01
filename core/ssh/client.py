"""The in-app SSH client (asyncssh): interactive shells with a PTY, commands, port forwards.

It connects exactly as OpenSSH does through podbay's ProxyCommand: the same `sshd -i` over the
machine's exec channel, the same client key, the same pinned host key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import stat
import sys
import termios
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from podbay.core.devcontainer.values import port_spec
from podbay.core.errors import PodbayError
from podbay.core.ssh import config as ssh_config

if TYPE_CHECKING:
    import asyncssh


CONNECT_SECONDS = 60


class HostKeyMismatch(PodbayError):
    kind = "host-key-mismatch"


async def connect(
    root: Path, name: str, user: str, proxy_argv: list[str]
) -> asyncssh.SSHClientConnection:
    import asyncssh

    key = root / "keys" / name / "id_ed25519"
    try:
        return await asyncssh.connect(
            f"{name}{ssh_config.SUFFIX}",
            username=user,
            client_keys=[str(key)],
            known_hosts=str(ssh_config.known_hosts_path(root)),
            proxy_command=proxy_argv,
            agent_path=os.environ.get("SSH_AUTH_SOCK") or None,
            agent_forwarding=bool(os.environ.get("SSH_AUTH_SOCK")),
            config=[],
            connect_timeout=CONNECT_SECONDS,  # an engine that hangs is not waited on forever
        )
    except asyncssh.HostKeyNotVerifiable:
        if not _pinned(root, name):
            raise PodbayError(
                f"the SSH host key of workspace {name} is not pinned yet",
                f"its `podbay up` has not set up SSH so far; let it finish: podbay up {name}",
            ) from None
        raise HostKeyMismatch(
            f"the SSH host key of workspace {name} does not match the one podbay pinned; "
            "something else may be answering for it",
            f"if you recreated its container outside podbay, podbay up {name} pins its key "
            "again; otherwise do not connect",
        ) from None
    except asyncssh.PermissionDenied:
        raise PodbayError(
            f"the SSH server of workspace {name} refused podbay's key for user {user}",
            f"re-place the keys: podbay up {name} --rebuild",
        ) from None
    except (OSError, asyncssh.Error) as exc:
        if isinstance(exc, TimeoutError):
            exc = TimeoutError(f"no answer within {CONNECT_SECONDS} s")
        raise PodbayError(
            f"cannot open an SSH session to workspace {name}: {exc}",
            f"is it running? podbay status {name}",
        ) from None


def _pinned(root: Path, name: str) -> bool:
    """Whether podbay's known_hosts has a key for the workspace at all."""
    try:
        lines = ssh_config.known_hosts_path(root).read_text().splitlines()
    except OSError:
        return False
    return any(line.split(" ", 1)[0] == f"{name}{ssh_config.SUFFIX}" for line in lines)


@dataclass(frozen=True)
class Forward:
    local_port: int
    target_host: str
    target_port: int
    note: str = ""  # e.g. why the local port differs from the one asked for

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def describe(self) -> str:
        target = (
            str(self.target_port)
            if self.target_host == "localhost"
            else f"{self.target_host}:{self.target_port}"
        )
        return f"{self.url} -> {target}" + (f" ({self.note})" if self.note else "")


def parse_forward(spec: str | int) -> tuple[int, str, int]:
    """`PORT`, `PORT:LOCAL` (CLI), or forwardPorts' `N` / `"host:port"` -> (local, host, port)."""
    return port_spec(spec)


async def open_forwards(
    conn: asyncssh.SSHClientConnection, specs: list[str | int]
) -> list[Forward]:
    """Local forwards on 127.0.0.1 only; a busy local port is replaced by a free one."""
    forwards = []
    for spec in specs:
        local, host, port = parse_forward(spec)
        note = ""
        try:
            listener = await conn.forward_local_port("127.0.0.1", local or 0, host, port)
        except OSError:
            listener = await conn.forward_local_port("127.0.0.1", 0, host, port)
            note = f"local port {local} was busy"
        forwards.append(Forward(listener.get_port(), host, port, note))
    return forwards


def remote_command(folder: str | None, argv: list[str] | None) -> str:
    """What sshd runs (through the user's shell): start in the workspace folder."""
    cd = f"cd {shlex.quote(folder)} 2>/dev/null; " if folder else ""
    if argv and len(argv) == 1:
        # One argument is a command line for the user's shell, as `ssh host 'a; b'` has it.
        return cd + argv[0]
    if argv:
        # Several are the words of one command (`podbay ssh NAME -- sh -c 'a; b'`), kept apart.
        return cd + "exec " + shlex.join(argv)
    return cd + 'exec "${SHELL:-/bin/sh}" -l'


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def run_session(
    conn: asyncssh.SSHClientConnection,
    command: str,
    interactive: bool,
    env: dict[str, str] | None = None,
    prelude: bytes = b"",
) -> int:
    """Run `command` with this process's stdio; a PTY, raw mode and resizes when interactive.
    `env` goes as the session's environment requests (what sshd's AcceptEnv lets in);
    `prelude` goes on its input before this process's."""
    loop = asyncio.get_running_loop()
    stdin_fd, stdout_fd = sys.stdin.fileno(), sys.stdout.fileno()
    term_size = None
    term_type = None
    if interactive:
        term_size = _terminal_size(stdout_fd)
        term_type = os.environ.get("TERM", "xterm-256color")
    process = await conn.create_process(
        command, term_type=term_type, term_size=term_size, encoding=None, env=env or {}
    )

    def resize() -> None:
        process.change_terminal_size(*_terminal_size(stdout_fd))

    stack = contextlib.ExitStack()
    if interactive:
        stack.enter_context(_raw_terminal(stdin_fd))
        loop.add_signal_handler(signal.SIGWINCH, resize)
        stack.callback(loop.remove_signal_handler, signal.SIGWINCH)
    with stack:
        if prelude:
            process.stdin.write(prelude)
        feeder = asyncio.create_task(_pump_stdin(process, stdin_fd))
        await asyncio.gather(
            _pump_to_fd(process.stdout, stdout_fd), _pump_to_fd(process.stderr, sys.stderr.fileno())
        )
        await process.wait_closed()
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
    return _exit_code(process)


async def _pump_stdin(process: asyncssh.SSHClientProcess[bytes], stdin_fd: int) -> None:
    """Copy this process's stdin to the remote command's, then send EOF."""
    mode = os.fstat(stdin_fd).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(stdin_fd):
        reader = asyncio.StreamReader()
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader),
            os.fdopen(stdin_fd, "rb", 0, closefd=False),
        )
        try:
            while data := await reader.read(65536):
                process.stdin.write(data)
                await process.stdin.drain()
        finally:
            transport.close()
    else:
        # Files and /dev/null cannot be polled; reading them never blocks for long.
        while data := await asyncio.to_thread(os.read, stdin_fd, 65536):
            process.stdin.write(data)
            await process.stdin.drain()
    process.stdin.write_eof()


async def _pump_to_fd(stream: asyncssh.SSHReader[bytes], fd: int) -> None:
    """Copy a remote output stream to a local file descriptor until it ends."""
    while data := await stream.read(65536):
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def _exit_code(process: asyncssh.SSHClientProcess[bytes]) -> int:
    """The remote command's exit status, 128 + N for signal N, or 255 when neither came back."""
    status = process.exit_status
    if status is None:
        return 255 if process.exit_signal is None else 128 + _signal_number(process.exit_signal[0])
    return int(status)


def _terminal_size(fd: int) -> tuple[int, int]:
    """The terminal's own size (not $COLUMNS/$LINES, which go stale when it is resized)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        size = shutil.get_terminal_size()
    return size.columns, size.lines


def _signal_number(name: str) -> int:
    return int(getattr(signal, f"SIG{name}", 15))
