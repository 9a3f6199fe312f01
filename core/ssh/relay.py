"""Run one command on a workspace's own machine (an EC2 instance) with this process's stdio.

`relay NAME CMD...` is what the ssh ProxyCommand, `podbay exec`, `podbay ssh` and
`podbay logs --container` run for a workspace on a machine of its own: one asyncssh connection
to the machine, pinned to the host key podbay gave it, running e.g.
`docker exec -i <container> sshd -i` there. A terminal gets a PTY, raw mode and resizes.

A docker CLI option `-e NAME` (no value: the docker CLI's own environment) carries this
process's value of NAME to the machine's docker CLI the same way: on the channel's input,
before the rest, read there byte by byte, never in a process's arguments (secrets, and the
session environment of core/ssh/sshd.py). Not for a terminal, whose input a PTY would echo.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from podbay.core import attach, paths
from podbay.core.errors import PodbayError
from podbay.core.ssh import keys, mux

if TYPE_CHECKING:  # (imported when used: the kept connection's path needs neither)
    from podbay.core.ssh import machine

# docker exec's options that take a value, as podbay writes them
_VALUED = ("-u", "-w", "-e", "--user", "--workdir", "--env")


def _exec_options(argv: list[str]) -> list[tuple[str, str]]:
    """`docker exec`'s own options in argv as (option, value or ""): those before the
    container, not the command's."""
    found: list[tuple[str, str]] = []
    at = 2
    while argv[:2] == ["docker", "exec"] and at < len(argv) and argv[at].startswith("-"):
        if argv[at] in _VALUED and at + 1 < len(argv):
            found.append((argv[at], argv[at + 1]))
            at += 2
        else:
            found.append((argv[at], ""))
            at += 1
    return found


def wants_terminal(argv: list[str]) -> bool:
    """Whether the command asks the machine for a terminal: `docker exec -t` (or -it), or a
    command other than `docker exec` (logs follow as the docker CLI shows them)."""
    if argv[:2] != ["docker", "exec"]:
        return True
    return any(
        o.startswith("-") and not o.startswith("--") and "t" in o for o, _ in _exec_options(argv)
    )


def carried(argv: list[str], environ: Mapping[str, str]) -> tuple[str, bytes]:
    """(the command line for the machine, what goes on its input first): each `-e NAME` of
    `docker exec` whose NAME this process has is read there from the input by `dd` (exactly
    its bytes), then given to the docker CLI in its environment. Run by `sh -c`, whatever the
    login shell on the machine is."""
    names = [
        value
        for option, value in _exec_options(argv)
        if option in ("-e", "--env") and value in environ and re.fullmatch(r"\w+", value)
    ]
    if not names:
        return shlex.join(argv), b""
    command = "exec " + shlex.join(argv)
    for name in reversed(names):
        value = environ[name].encode("utf-8", "surrogateescape")
        read = f"$(dd bs=1 count={len(value)} 2>/dev/null; echo x)"
        command = f"{name}={read}; {name}=${{{name}%x}}; export {name}; {command}"
    prelude = b"".join(environ[name].encode("utf-8", "surrogateescape") for name in names)
    return shlex.join(["sh", "-c", command]), prelude


async def relay(
    address: machine.MachineAddress, command: str, interactive: bool, prelude: bytes = b""
) -> int:
    from podbay.core.ssh import client, machine

    conn = await machine.connect(address)
    try:
        return await client.run_session(conn, command, interactive, prelude=prelude)
    finally:
        conn.close()


def run(name: str, argv: list[str]) -> int:
    ssh = attach.machine_ssh(attach.ready_record(name))
    if ssh is None:
        raise PodbayError(f"workspace {name} has no machine of its own", "")
    client_key = keys.of(paths.home(), name).client_key
    # A terminal only for a command that asks for one: on a PTY the values carried on the
    # input would be echoed, so they go only where there is none.
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and wants_terminal(argv)
    command, prelude = (shlex.join(argv), b"") if interactive else carried(argv, os.environ)
    kept = mux.argv(paths.home(), ssh, client_key, command, interactive) if not prelude else None
    # The command goes over the kept connection only once it is up: then whatever it
    # returns is its answer (255 too), and it never runs twice. Else asyncssh connects, or
    # says why it cannot.
    if kept is not None and mux.ensure_up(kept):
        return _run_kept(kept)
    import asyncio

    from podbay.core.ssh import machine

    address = machine.MachineAddress.from_record(ssh, client_key)
    try:
        return asyncio.run(relay(address, command, interactive, prelude))
    except machine.MachineUnreachable as exc:
        if address.own_identity:  # (a machine of the user's, the ssh provider's)
            hint = f"check that `ssh {address.host}` works here; podbay status {name}"
        else:
            hint = (
                f"is its machine stopped, or did your address change? podbay up {name} starts "
                "it and lets your current address in"
            )
        raise PodbayError(f"workspace {name}: {exc.message}", hint) from None


def _run_kept(argv: list[str]) -> int:
    """ssh over the kept connection with this process's stdio; Ctrl-C is the command's."""
    import signal
    import subprocess

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(argv)
    finally:
        signal.signal(signal.SIGINT, previous)


def main() -> NoReturn:
    try:
        code = run(sys.argv[1], sys.argv[2:])
    except PodbayError as exc:
        print(f"podbay: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        code = 255
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    raise SystemExit(code)
