"""Run one command on a workspace's own machine (an EC2 instance) with this process's stdio.

`relay NAME CMD...` is what the ssh ProxyCommand, `podbay exec`, `podbay ssh` and
`podbay logs --container` run for a workspace on a machine of its own: one asyncssh connection
to the machine, pinned to the host key podbay gave it, running e.g.
`docker exec -i <container> sshd -i` there. A terminal gets a PTY, raw mode and resizes.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from typing import NoReturn

from podbay.core import attach, paths
from podbay.core.errors import PodbayError
from podbay.core.ssh import client, keys, machine


async def relay(address: machine.MachineAddress, command: str, interactive: bool) -> int:
    conn = await machine.connect(address)
    try:
        return await client.run_session(conn, command, interactive)
    finally:
        conn.close()


def run(name: str, argv: list[str]) -> int:
    ssh = attach.machine_ssh(attach.ready_record(name))
    if ssh is None:
        raise PodbayError(f"workspace {name} has no machine of its own", "")
    address = machine.MachineAddress.from_record(ssh, keys.of(paths.home(), name).client_key)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    try:
        return asyncio.run(relay(address, shlex.join(argv), interactive))
    except machine.MachineUnreachable as exc:
        raise PodbayError(
            f"workspace {name}: {exc.message}",
            f"is its machine stopped, or did your address change? podbay up {name} starts it "
            "and lets your current address in",
        ) from None


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
