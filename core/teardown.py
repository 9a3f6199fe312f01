"""Stopping and deleting a workspace, and what a delete would lose (its unsaved work)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from podbay.core import paths, unsaved
from podbay.core import sync as copies
from podbay.core.compose import LABEL_PART_OF, part_of
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import DockerUnreachable, PodbayError, ProviderError, WorkAtRisk
from podbay.core.host import HostSession
from podbay.core.model import LABEL_HOME, LABEL_WORKSPACE, Workspace
from podbay.core.provider import MachineJob, Provider
from podbay.core.reporter import Reporter
from podbay.core.ssh import config as ssh_config
from podbay.core.ssh import keys as ssh_keys
from podbay.core.ssh.setup import write_ssh_config
from podbay.core.store import Store
from podbay.core.workspace_host import find_container, open_host


async def stop(store: Store, ws: Workspace, provider: Provider, job: MachineJob) -> None:
    """Stop the container; a workspace's own machine is stopped with it (disk kept)."""
    user = ws.remote_user or "root"
    await asyncio.to_thread(ssh_config.close_master, store.root, ws.name, user)
    if provider.dedicated_machine:
        await provider.stop_machine(job)
    else:
        async with open_host(provider, job) as host:
            container = await find_container(host.docker, store.install_id(), ws.name)
            if container is not None and container.get("State") == "running":
                job.report.step("stopping the container")
                await asyncio.to_thread(host.docker.stop, container["Id"])
            if container is not None:
                await part_of(host.docker, container, "stop", job.report)
    job.report.done(f"workspace {ws.name} is stopped")


async def work_at_risk(
    store: Store, ws: Workspace, provider: Provider, job: MachineJob
) -> tuple[list[str], list[str]]:
    """What `delete` would lose: (work in podbay's copy of the source, other things)."""
    if provider.dedicated_machine:
        checked = ws.owned_folder or copies.is_copy(ws)
        work = await work_on_machine(ws, provider, job) if checked else []
        return work, []
    async with open_host(provider, job) as host:
        return await at_risk_here(store, ws, host)


async def at_risk_here(
    store: Store, ws: Workspace, host: HostSession
) -> tuple[list[str], list[str]]:
    """(work in the folder, other things) `delete` would lose on this engine. The folder is
    checked first: it needs no Docker, so an engine that is down still shows the work."""
    work = await unsaved.work_at_risk(ws, host) if await _exists(host, ws.folder) else []
    try:
        found = await find_container(host.docker, store.install_id(), ws.name)
        info = (
            await asyncio.to_thread(host.docker.inspect_container, found["Id"])
            if found is not None
            else None
        )
    except PodbayError as exc:
        return work, [f"its container's volumes, which were not checked ({exc.message})"]
    return work, unsaved.volumes_at_risk(info or {})


async def copy_at_risk(ws: Workspace, host: HostSession) -> list[str]:
    """What a copy on the machine of a folder here holds that the folder does not: files
    changed there since they were last brought back (core/sync.py)."""
    if not copies.is_copy(ws) or not await _exists(host, ws.folder):
        return []
    changed = await copies.changed_on_machine(host, ws)
    if changed is None:
        return [f"changes to its copy of {ws.source.value}, which podbay cannot compare"]
    if not changed:
        return []
    return [f"{_changed(changed)} (podbay sync {ws.name} brings them back)"]


def _changed(files: list[str]) -> str:
    return f"{len(files)} file(s) changed on the machine: {copies.names(files)}"


async def _exists(host: HostSession, path: str) -> bool:
    """Whether the workspace's folder is there, on this computer or on the machine (a machine
    that does not answer: as if not, the check of its containers says why)."""
    try:
        return await host.exists(path)
    except PodbayError:
        return False


async def delete(
    store: Store, ws: Workspace, provider: Provider, job: MachineJob, force: bool
) -> None:
    """Everything of `delete` done under the workspace's lock (see Engine.delete)."""
    name, report = ws.name, job.report
    try:
        await delete_on_provider(store, ws, provider, job, force)
    except (DockerUnreachable, ProviderError) as exc:
        if not force:
            raise
        report.warn(
            f"{exc.message}; its container or machine may be left on provider "
            f"{ws.provider} (named {ws.container_name}, labelled "
            f"{LABEL_WORKSPACE}={ws.name})"
        )
    await asyncio.to_thread(ssh_config.close_master, store.root, name, ws.remote_user or "root")
    folder = Path(ws.folder)
    if ws.owned_folder and folder.is_relative_to(store.root):
        report.step(f"removing podbay's copy of the source ({ws.folder})")
        if folder.is_symlink():
            folder.unlink()  # the link only, never what it points at
        else:
            await asyncio.to_thread(shutil.rmtree, ws.folder, True)
    shutil.rmtree(paths.builds_dir(store.root) / name, ignore_errors=True)
    shutil.rmtree(ssh_keys.of(store.root, name).folder, ignore_errors=True)
    store.remove_workspace(name)
    write_ssh_config(store)
    report.done(f"workspace {name} is deleted")


async def work_on_machine(ws: Workspace, provider: Provider, job: MachineJob) -> list[str]:
    """What terminating the workspace's own machine would lose, checked on the machine;
    a machine that does not answer cannot be checked, which is said as such."""
    if not ws.machine:
        return []  # never launched: nothing there
    try:
        async with open_host(provider, job) as host:
            return await unsaved.work_at_risk(ws, host) + await copy_at_risk(ws, host)
    except PodbayError as exc:
        return [
            f"its files on the machine were not checked ({exc.message}); start it to "
            f"check them: podbay start {ws.name}"
        ]


async def delete_on_provider(
    store: Store, ws: Workspace, provider: Provider, job: MachineJob, force: bool
) -> None:
    """The workspace's machine, or its containers, networks and images on the shared engine."""
    name, report = ws.name, job.report
    if provider.dedicated_machine:
        if not force and (ws.owned_folder or copies.is_copy(ws)):
            work = await work_on_machine(ws, provider, job)
            if work:
                raise WorkAtRisk(ws.name, ws.folder, work, [])
        await provider.delete_machine(job)  # its containers and files go with it
        return
    async with open_host(provider, job) as host:
        if not force:
            work, other = await at_risk_here(store, ws, host)
            if work or other:
                raise WorkAtRisk(ws.name, ws.folder, work, other)
        found = await find_container(host.docker, store.install_id(), name)
        info = (
            await asyncio.to_thread(host.docker.inspect_container, found["Id"])
            if found is not None
            else None
        ) or {}
        for volume, where in unsaved.named_volumes(info):
            report.warn(
                f"the named volume {volume} (at {where}) is kept; "
                f"remove it with: docker volume rm {volume}"
            )
        projects = set()
        while (
            container := await find_container(host.docker, store.install_id(), name)
        ) is not None:
            await part_of(host.docker, container, "remove", report)
            projects.add((container.get("Labels") or {}).get(LABEL_PART_OF))
            report.step(f"removing container {container['Id'][:12]}")
            await asyncio.to_thread(host.docker.remove, container["Id"])
        for project in projects - {None}:  # compose's network, now unused
            labels = {"com.docker.compose.project": str(project)}
            await asyncio.to_thread(host.docker.prune_networks, labels)
        await remove_images(host.docker, store.install_id(), name, report)
        if not host.local and ws.folder == provider.folder_for(name):
            await _remove_machine_folder(ws, host, report)


async def _remove_machine_folder(ws: Workspace, host: HostSession, report: Reporter) -> None:
    """podbay's folder for the workspace on a shared machine (an SSH provider's): a clone or a
    template podbay made is removed (its work was checked first); a copy of a folder of this
    computer is kept, since nothing brings changes made there back yet."""
    if ws.owned_folder:
        report.step(f"removing podbay's copy of the source on the machine ({ws.folder})")
        await host.remove_tree(ws.folder)
    elif await _exists(host, ws.folder):
        changed = await copies.changed_on_machine(host, ws)
        report.warn(
            f"the copy of {ws.source.value} on the machine is kept at {ws.folder}"
            + (f" ({_changed(changed)} not brought back)" if changed else "")
            + "; remove it there when you have what you need"
        )


async def remove_images(
    docker: DockerEndpoint, install_id: str, name: str, report: Reporter
) -> None:
    """The images podbay built for the workspace (its Dockerfile, features, UID update)."""
    labels = {LABEL_HOME: install_id, LABEL_WORKSPACE: name}
    images = await asyncio.to_thread(docker.list_images, labels)
    # Newest first: the image built on top goes before the one it was built from.
    for image in sorted(images, key=lambda i: i.get("Created", 0), reverse=True):
        report.step(f"removing image {', '.join(image.get('RepoTags') or [image['Id'][:19]])}")
        try:
            await asyncio.to_thread(docker.remove_image, image["Id"])
        except PodbayError as exc:
            report.warn(f"{exc.message}; remove it with: docker rmi {image['Id'][:19]}")
