"""Reaching a workspace where it runs: its machine job, a host session there, its container."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from podbay.core.docker import DockerEndpoint
from podbay.core.host import HostSession
from podbay.core.model import LABEL_HOME, LABEL_WORKSPACE, Workspace
from podbay.core.provider import MachineJob, Provider
from podbay.core.reporter import Reporter
from podbay.core.ssh import keys as ssh_keys
from podbay.core.store import Store


def machine_job(store: Store, ws: Workspace, report: Reporter) -> MachineJob:
    """One operation on `ws`'s machine, as a provider is handed it."""
    return MachineJob(
        workspace=ws,
        keys=ssh_keys.of(store.root, ws.name),
        install_id=store.install_id(),
        report=report,
        save=lambda: store.save_workspace(ws),
    )


@contextlib.asynccontextmanager
async def open_host(provider: Provider, job: MachineJob) -> AsyncIterator[HostSession]:
    """A host session on the job's machine, closed on the way out."""
    host = await provider.open_host(job)
    try:
        yield host
    finally:
        await host.close()


async def find_container(
    docker: DockerEndpoint, install_id: str, name: str
) -> dict[str, Any] | None:
    """The workspace's newest container on this engine (one being removed does not count)."""
    found = await asyncio.to_thread(
        docker.list_containers,
        {LABEL_HOME: install_id, LABEL_WORKSPACE: name},
    )
    found = [c for c in found if c.get("State") != "removing"]
    found.sort(key=lambda c: c.get("Created", 0), reverse=True)
    return found[0] if found else None
