"""The container part of `up`: find or make the container, start it, run its hooks, set up SSH.

Every step is idempotent (see core.engine): the container is found by its labels, once-hooks
are recorded per container after they succeed, and crash tests kill `up` at each checkpoint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.core import (
    consent,
    dotfiles,
    git_identity,
    hooks,
    images,
    quick_up,
    testseam,
    used,
)
from podbay.core.compose import part_of
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.plan import ONCE_HOOKS, Plan, resolve_container_env
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import ProviderError
from podbay.core.images import UpJob
from podbay.core.model import Workspace
from podbay.core.reporter import Reporter
from podbay.core.ssh import bundle as ssh_bundle
from podbay.core.ssh import keys as ssh_keys
from podbay.core.ssh.setup import SshSetup, write_ssh_config
from podbay.core.store import Store
from podbay.core.workspace_host import find_container

HOOK_ORDER = (*ONCE_HOOKS, "postStartCommand", "postAttachCommand")

_checkpoint = testseam.checkpoint  # crash tests kill `up` at each of these steps


@dataclass
class Attempt:
    """What one `up` made, so that a failure undoes only that."""

    created_record: bool
    made_folder: bool = False
    yes: bool = False
    confirm: consent.Confirm | None = None
    no_dotfiles: bool = False  # up --no-dotfiles: a new container goes without them


async def ask_consent(
    store: Store, ws: Workspace, attempt: Attempt, title: str, items: list[str]
) -> None:
    """Go on only with the consent this `up` was given or is asked for (see core.consent)."""
    await consent.ask(store, ws, title, items, attempt.yes, attempt.confirm, attempt.created_record)


async def container_up(
    store: Store,
    job: UpJob,
    keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
    rebuild: bool,
    attempt: Attempt,
) -> Workspace:
    """Bring the workspace's container to ready, from whatever an earlier `up` left."""
    ws, report = job.ws, job.report
    # The config's digest as this `up` starts: an edit while it runs is not taken as applied.
    # (on another machine: its copy read here for this `up`)
    here = ws.config_path
    if here is not None and not job.host.local:
        here = str(job.local_dir / Path(here).name)
    inputs = quick_up.inputs(here, ws.image)
    # A new workspace's container will want the user's git identity: read it meanwhile.
    identity = (
        asyncio.ensure_future(asyncio.to_thread(git_identity.local_identity))
        if ws.container_id is None
        else None
    )
    try:
        container_id, plan = await _container_for(store, job, rebuild, attempt)
        info = await _running(job, container_id)
        plan, ssh = await _record_container(store, job, plan, container_id, info, keys_ready)
        await _hooks_and_ssh(store, job, plan, info, ssh, keys_ready, identity, attempt.no_dotfiles)
    finally:
        if identity is not None:
            await asyncio.wait([identity])  # (a thread: never left behind)
    write_ssh_config(store)
    _checkpoint("ssh")
    ws.quick = _quick_note(job, info, inputs)
    ws.phase, ws.error, ws.usable = "ready", None, True
    store.save_workspace(ws)
    used.mark(str(store.root), ws.name)
    report.done(f"workspace {ws.name} is ready ({plan.workspace_folder})")
    return ws


def _quick_note(job: UpJob, info: dict[str, Any], inputs: dict[str, Any] | None) -> dict[str, Any]:
    """What lets the next `up` answer without this path (core/quick_up.py): only for a config
    whose inputs are its own file and local variables (an image, remote features), on this
    computer's engine, with a container made from exactly this config."""
    resolved = job.resolved
    local_feature = any(key.startswith((".", "/")) for key in resolved.features)
    # This computer's engine, or a machine of the user's (the ssh provider: always on, shared;
    # not a VM of its own, which `up` may have to start).
    shared = job.ws.machine.ssh is not None and not job.ws.machine.own
    if not (job.host.local or shared) or resolved.build or resolved.compose or local_feature:
        return {}
    # Run by every `up`: only the full path runs them.
    if resolved.config.initializeCommand or job.ws.attach_hooks:
        return {}
    labels = (info.get("Config") or {}).get("Labels") or {}
    made_from = labels.get("dev.podbay.config_hash")
    if made_from != dcplan.config_hash(resolved.fingerprint):
        return {}  # drift: every `up` says so, through the full path
    if inputs is None:
        return {}
    return {"config_path": job.ws.config_path, "inputs": inputs, "config_hash": made_from}


async def _container_for(
    store: Store, job: UpJob, rebuild: bool, attempt: Attempt
) -> tuple[str, Plan]:
    """The container to use (the existing one, or one made now) and its plan."""
    container = await find_container(job.host.docker, store.install_id(), job.ws.name)
    if container is not None and not rebuild and await _never_started(job, container):
        # It failed to start (a port in use, a user that does not exist) and nothing ever
        # ran in it: made again from today's config rather than failing the same way.
        rebuild = True
    if container is not None and not rebuild:
        labels = container.get("Labels") or {}
        return container["Id"], await _existing_plan(job, container, labels)
    return await _make_container(store, job, container, attempt)


async def _make_container(
    store: Store, job: UpJob, old: dict[str, Any] | None, attempt: Attempt
) -> tuple[str, Plan]:
    """A new container from today's config (replacing `old`), recorded before it starts."""
    ws = job.ws
    # A build that reaches beyond the source is asked about before it runs.
    config_dir = str(Path(ws.config_path).parent) if ws.config_path else ws.folder
    asked = consent.build_access(job.resolved.build, config_dir, ws.folder)
    if job.resolved.compose is not None:
        files = ", ".join(job.resolved.compose.files)
        asked.append(f"runs its Docker Compose file(s) as they are ({files})")
    await ask_consent(store, ws, attempt, "its build reaches beyond its source", asked)
    # podbay's portable sshd, read-only: SSH without a package install in the container. For
    # a config naming its image, looked up alongside the image's steps.
    early_sshd = None
    if job.resolved.image is not None and job.resolved.compose is None:
        early_sshd = asyncio.create_task(ssh_bundle.mount_for(job.host, job.resolved.image))
    try:
        container_id, plan = await _image_and_container(store, job, old, attempt, early_sshd)
    finally:
        if early_sshd is not None:
            early_sshd.cancel()  # (done by now, unless this `up` failed)
            await asyncio.wait([early_sshd])
            if not early_sshd.cancelled():
                early_sshd.exception()  # retrieved: raised again where it was awaited
    # Recorded before it starts: a container that cannot start is still podbay's to
    # show (Error) and to delete.
    ws.container_id = container_id
    store.save_workspace(ws)
    _checkpoint("created")
    return container_id, plan


async def _image_and_container(
    store: Store,
    job: UpJob,
    old: dict[str, Any] | None,
    attempt: Attempt,
    early_sshd: asyncio.Task[str | None] | None,
) -> tuple[str, Plan]:
    """The image made (the new image first: if it cannot be made, the old container is still
    there), then the container created from it."""
    ws, report, docker = job.ws, job.report, job.host.docker
    plan = await images.prepare_image(job)
    for warning in plan.warnings:
        report.warn(warning)
    _checkpoint("image")
    await ask_consent(
        store,
        ws,
        attempt,
        "its container would reach beyond itself",
        consent.container_access(plan.requests, ws.folder),
    )
    if old is not None:
        report.step("removing the old container (the source and volumes stay)")
        await asyncio.to_thread(docker.remove, old["Id"])
    if job.compose is not None and plan.compose_service is not None:
        return await images.compose_up(job, plan.compose_service), plan
    report.step(f"creating the container from {plan.image}")
    sshd = await early_sshd if early_sshd is not None else None
    if sshd is None:  # (looked up now: the image was pulled or built since)
        sshd = await ssh_bundle.mount_for(job.host, plan.image)
    extra = ["--mount", sshd] if sshd else []
    return await asyncio.to_thread(docker.create, [*extra, *plan.create_args]), plan


async def _running(job: UpJob, container_id: str) -> dict[str, Any]:
    """The container started (if it was not); what Docker says of it then."""
    docker, report = job.host.docker, job.report
    info = await asyncio.to_thread(docker.inspect_container, container_id)
    if info is None:
        raise ProviderError("the container vanished while starting", "run podbay up again")
    if not info["State"].get("Running"):
        await part_of(docker, info, "start", report)
        report.step("starting the container")
        await asyncio.to_thread(docker.start, container_id)
        info = await asyncio.to_thread(docker.inspect_container, container_id) or info
    _checkpoint("started")
    return info


async def _record_container(
    store: Store,
    job: UpJob,
    plan: Plan,
    container_id: str,
    info: dict[str, Any],
    keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
) -> tuple[Plan, SshSetup | None]:
    """Save what attaching needs from the running container: (its final plan, the SSH setup
    started when this container has none yet)."""
    ws, report, docker = job.ws, job.report, job.host.docker
    container_env = dict(
        item.split("=", 1) for item in info["Config"].get("Env") or [] if "=" in item
    )
    plan = resolve_container_env(plan, container_env)
    ws.container_id = container_id
    if ws.folder_name is None and job.ctx.folder_name:  # a rebuild gave it the folder's name
        ws.folder_name, ws.folder_rel = job.ctx.folder_name, job.ctx.folder_rel
    ws.workspace_folder = plan.workspace_folder
    ws.remote_user = plan.remote_user
    new_container = ws.hooks_container != container_id
    probe_key = f"{container_id}@{info['State'].get('StartedAt')}@{plan.user_env_probe}"
    probe = hooks.probe_command(plan) if ws.probed_for != probe_key else None
    ssh = None
    try:
        if ws.ssh_container != container_id and docker.feeds_input:
            # SSH setup (root, /etc/podbay) starts at once: for root it runs the probe itself,
            # and it keeps /etc/profile's PATH before any probe (an exec less for each). Its
            # sessions' environment is given once probed (below).
            as_root = plan.remote_user in ("root", "0")
            ssh = SshSetup(
                store,
                ws,
                docker,
                keys_ready,
                report,
                patch=probe is not None and new_container,
                probe=probe if as_root else None,
                # Then it can become the first hook, as root runs them: one exec less again.
                hook_later=as_root and new_container,
                container_env=container_env,
            )
        if ws.probed_for != probe_key:
            ws.probed_env = await _probe(job, plan, container_id, probe, ssh, new_container)
            ws.probed_for = probe_key
        remote_env = {k: v for k, v in plan.remote_env.items() if v is not None}
        ws.remote_env = {**ws.probed_env, **remote_env}
        if ws.ssh_container != container_id:
            ssh_env = {**container_env, **ws.remote_env}
            if ssh is None:
                ssh = SshSetup(store, ws, docker, keys_ready, report, env=ssh_env)
            ssh.give_env(ssh_env)
    except BaseException:
        if ssh is not None:
            await ssh.abort()
        raise
    ws.forward_ports = plan.forward_ports
    ws.vscode_extensions = plan.vscode_extensions
    ws.attach_hooks = [c.model_dump() for c in plan.hooks.get("postAttachCommand", [])]
    if new_container:
        ws.hooks_container, ws.hooks_done, ws.post_start_at = container_id, [], None
        ws.usable = False
    store.save_workspace(ws)
    return plan, ssh


async def _probe(
    job: UpJob,
    plan: Plan,
    container_id: str,
    probe: hooks.ProbeCommand | None,
    ssh: SshSetup | None,
    new_container: bool,
) -> dict[str, str]:
    """The user's environment (userEnvProbe): from the SSH setup's exec when it ran the probe,
    else with an exec of its own (after the setup kept /etc/profile's PATH)."""
    docker, report = job.host.docker, job.report
    if probe is None:
        return {}
    if ssh is None:
        return await hooks.probe_user_env(docker, container_id, plan, report, new_container)
    if ssh.probe is not None:
        await ssh.probe_started  # (the 10 seconds count from there)
        return await hooks.probe_result(ssh.probed, probe, docker, container_id, plan, report)
    await ssh.patched
    return await hooks.probe_user_env(docker, container_id, plan, report, patch_profile=False)


async def _hooks_and_ssh(
    store: Store,
    job: UpJob,
    plan: Plan,
    info: dict[str, Any],
    ssh: SshSetup | None,
    keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
    identity: asyncio.Future[tuple[str, str] | None] | None = None,
    no_dotfiles: bool = False,
) -> None:
    """The lifecycle hooks, with the SSH setup (root, /etc/podbay) going on alongside; the
    user's dotfiles after the once-per-container hooks."""
    ws, report, docker = job.ws, job.report, job.host.docker
    started_at = str(info["State"].get("StartedAt"))
    take_over = ssh.take_over if ssh is not None and ssh.hook_later else None

    # Only into a container whose making this `up` finishes: one made before dotfiles were set
    # (or before podbay had them) is left as its user keeps it.
    fresh = not set(ONCE_HOOKS) <= set(ws.hooks_done)

    async def install_dotfiles() -> None:
        if ws.dotfiles_container == ws.container_id:
            return
        chosen, origin = dotfiles.for_workspace(store, ws.name)
        if not fresh:
            chosen = None
        if chosen is not None and no_dotfiles:
            report.log("dotfiles: not installed (--no-dotfiles)")
        elif chosen is not None:
            await dotfiles.apply(ws, chosen, plan.workspace_folder, docker, report, origin)
        ws.dotfiles_container = ws.container_id
        store.save_workspace(ws)

    try:
        if ws.identity_container != ws.container_id:
            # Before the hooks: a postCreateCommand that commits commits as the user.
            await git_identity.copy_into(ws, docker, report, identity)
            ws.identity_container = ws.container_id
        await run_hooks(
            store, ws, plan, docker, started_at, report, take_over, install_dotfiles, job.secrets
        )
    finally:
        if ssh is not None:
            await ssh.finish()
        await keys_ready


async def _never_started(job: UpJob, container: dict[str, Any]) -> bool:
    """True for a container that was created, never started, and whose config changed."""
    if container.get("State") != "created":
        return False
    labels = container.get("Labels") or {}
    try:
        before = json.loads(labels.get(dcplan.LABEL_FINGERPRINT) or "{}")
    except ValueError:
        return False
    if not before or not dcplan.changed_parts(before, job.resolved.fingerprint):
        return False
    info = await asyncio.to_thread(job.host.docker.inspect_container, container["Id"])
    started = str(((info or {}).get("State") or {}).get("StartedAt") or "")
    return started.startswith("0001-")


async def _existing_plan(job: UpJob, container: dict[str, Any], labels: dict[str, str]) -> Plan:
    """Reuse the container; say what changed in the config since it was made."""
    try:
        before = json.loads(labels.get(dcplan.LABEL_FINGERPRINT) or "{}")
    except ValueError:
        before = {}
    changed = dcplan.changed_parts(before, job.resolved.fingerprint) if before else []
    if changed:
        job.report.warn(
            f"the config changed since this container was made ({', '.join(changed)}); "
            f"apply it with: podbay up {job.ws.name} --rebuild"
        )
    inspect = await asyncio.to_thread(job.host.docker.inspect_container, container["Id"])
    user = str(((inspect or {}).get("Config") or {}).get("User") or "")
    return dcplan.plan_for_existing(job.resolved, labels, user, job.ctx)


async def run_hooks(
    store: Store,
    ws: Workspace,
    plan: Plan,
    docker: DockerEndpoint,
    started_at: str,
    report: Reporter,
    take_over: hooks.TakeOver | None = None,
    after_create: Callable[[], Awaitable[None]] | None = None,
    secrets: dict[str, str] | None = None,
) -> None:
    """Once-per-container hooks (progress kept in podbay's store, which is always writable,
    not in the container), postStartCommand once per start, postAttachCommand every up.
    `take_over`: an exec that can run the first hook command instead of an exec of its own;
    `after_create` runs after the once-per-container hooks (the dotfiles)."""

    async def run(hook: str) -> None:
        commands = plan.hooks.get(hook, [])
        if commands:
            folder = plan.workspace_folder
            await hooks.run_in_container(
                ws, hook, commands, folder, docker, report, take_over, secrets
            )
        if hook == plan.wait_for and not ws.usable:
            # waitFor: attaching works from here on, while the later hooks run on.
            ws.usable = True
            store.save_workspace(ws)
            if hook != HOOK_ORDER[-1]:
                report.step(f"{ws.name} can be attached to now; the remaining hooks run on")

    for hook in ONCE_HOOKS:
        if hook not in ws.hooks_done:
            await run(hook)
            ws.hooks_done = [*ws.hooks_done, hook]
            store.save_workspace(ws)
        _checkpoint(f"hook:{hook}")
    if after_create is not None:
        await after_create()
    if ws.post_start_at != started_at:
        await run("postStartCommand")
    ws.post_start_at = started_at
    store.save_workspace(ws)
    await run("postAttachCommand")
