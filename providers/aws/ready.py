"""Waiting for a started machine: SSH pinned to podbay's host key, then user-data's marker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from podbay.core.errors import ProviderError
from podbay.core.provider import MachineJob
from podbay.core.ssh import machine as ssh_machine

if TYPE_CHECKING:
    import asyncssh

# sshd answers before user-data has finished installing Docker: wait for its marker.
_MARKER_SCRIPT = (
    f"while [ ! -e {ssh_machine.READY_MARKER} ]; do "
    f"if [ -e {ssh_machine.FAILED_MARKER} ]; then cat {ssh_machine.FAILED_MARKER}; "
    "exit 1; fi; sleep 1; done"
)
_RERUN_SCRIPT = (
    f"sudo -n rm -f {ssh_machine.FAILED_MARKER} && sudo -n sh -c "
    "'nohup bash /var/lib/podbay/user-data.sh >>/var/log/podbay-user-data.log 2>&1 </dev/null &'"
)


# How long SSH may stay silent before podbay asks AWS whether the machine can be reached at all
# (a subnet without a route to an internet gateway) instead of waiting out the timeout.
DIAGNOSE_AFTER = 60.0


async def wait_until_ready(
    job: MachineJob,
    timeout: float,
    ingress_option: str | None,
    diagnose: Callable[[], Awaitable[None]] | None = None,
) -> asyncssh.SSHClientConnection:
    """An SSH connection to the workspace's machine once its setup has finished. `diagnose`
    raises the reason when SSH is silent for a minute (or times out sooner), if it finds one."""
    machine = job.workspace.machine.extra
    address = ssh_machine.MachineAddress.of(job.workspace.machine, job.keys.client_key)
    job.report.step(f"waiting for SSH on {address.host}:{address.port}")
    deadline = time.monotonic() + timeout
    try:
        try:
            first = min(deadline, time.monotonic() + DIAGNOSE_AFTER)
            conn = await ssh_machine.connect(address, retry_until=first)
        except ssh_machine.MachineUnreachable as silent:
            if diagnose is not None and not silent.answered:
                await diagnose()
            if time.monotonic() >= deadline:
                raise
            conn = await ssh_machine.connect(address, retry_until=deadline)
    except ssh_machine.MachineUnreachable as exc:
        cidr = machine.get("ingress_cidr") or ingress_option or "?"
        group = machine.get("security_group_id", "?")
        raise ProviderError(
            f"instance {machine.get('instance_id')} did not answer SSH within "
            f"{int(timeout)} s ({exc.message.removeprefix('cannot reach ')})",
            f"security group {group} lets in {cidr}; if your address changed, "
            f"run podbay up {job.workspace.name} again",
        ) from None
    job.report.step("waiting for the machine's setup (user-data) to finish")
    try:
        for attempt in (1, 2):
            reason = await _setup_failure(conn, deadline)
            if reason is None:
                break
            if attempt == 2 or not await _run_setup_again(conn):
                raise ProviderError(
                    f"the machine's setup failed: {reason}",
                    f"aws ec2 get-console-output --instance-id {machine.get('instance_id')}",
                )
            job.report.warn(f"the machine's setup failed ({reason}); running it again")
    except TimeoutError:
        raise ProviderError(
            "the machine's setup (user-data) did not finish in time",
            f"aws ec2 get-console-output --instance-id {machine.get('instance_id')}",
        ) from None
    finally:
        # That connection was let in before setup added the login user to the docker group,
        # and keeps the groups it started with: Docker's socket would refuse it. A new one
        # has the group.
        conn.close()
    return await ssh_machine.connect(address, retry_until=max(deadline, time.monotonic() + 30))


async def _setup_failure(conn: asyncssh.SSHClientConnection, deadline: float) -> str | None:
    """Wait for user-data's marker: None when it finished, else why it failed."""
    done = await asyncio.wait_for(
        conn.run(_MARKER_SCRIPT, check=False), max(1.0, deadline - time.monotonic())
    )
    return None if done.exit_status == 0 else str(done.stdout).strip() or "no reason given"


async def _run_setup_again(conn: asyncssh.SSHClientConnection) -> bool:
    """Start the machine's own copy of user-data again (a step that failed on a first boot,
    e.g. apt's lock held too long, usually passes the second time)."""
    done = await conn.run(_RERUN_SCRIPT, check=False)
    return done.exit_status == 0
