"""Port forwarding over podbay's SSH connection to a workspace, the same for the TUI and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncssh

    from podbay.core.attach import AttachRecord
    from podbay.core.ssh.client import Forward


async def connect(home: Path, name: str, record: AttachRecord) -> asyncssh.SSHClientConnection:
    """podbay's SSH connection to workspace NAME as its remote user, over its container's sshd."""
    from podbay.core.attach import sshd_argv
    from podbay.core.ssh import client

    user = record.get("remote_user") or "root"
    return await client.connect(home, name, user, sshd_argv(record))


async def serve_forwards(
    conn: asyncssh.SSHClientConnection,
    specs: Sequence[str | int],
    opened: Callable[[list[Forward]], None],
) -> None:
    """Forward SPECS (PORT or PORT:LOCAL) to 127.0.0.1 over CONN, hand the forwards to `opened`,
    and keep them until the connection closes."""
    from podbay.core.ssh import client

    async with conn:
        forwards = await client.open_forwards(conn, list(specs))
        opened(forwards)
        await conn.wait_closed()
