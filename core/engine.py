"""The workspace lifecycle: up, start, stop, delete, status, logs. Async; blocking work in threads.

Crash safety: a new workspace is recorded (phase "creating") before anything is created, and
every later step is idempotent (find the container by its labels, clone into a temporary folder
renamed at the end, once-hooks recorded per container after they succeed), so after a kill -9 at
any point `podbay up NAME` picks up where it stopped. A workspace is "ready" only when all of
`up` finished; until then `list` shows it as Busy (lock held) or Error (interrupted or failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from podbay.core import consent, hooks, images, paths, testseam, unsaved
from podbay.core import source as sources
from podbay.core.compose import LABEL_PART_OF, part_of
from podbay.core.devcontainer import config as dcconfig
from podbay.core.devcontainer import files as dcfiles
from podbay.core.devcontainer import find as dcfind
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.plan import (
    ONCE_HOOKS,
    Plan,
    PlanContext,
    container_name,
    resolve_container_env,
)
from podbay.core.devcontainer.values import WORKSPACE_NAME, printable
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import (
    DockerUnreachable,
    NameTaken,
    PodbayError,
    ProviderError,
    SourceError,
    UnknownProvider,
    WorkAtRisk,
)
from podbay.core.host import HostSession, MachineJob
from podbay.core.images import UpJob
from podbay.core.model import (
    LABEL_HOME,
    LABEL_RECORD,
    LABEL_WORKSPACE,
    Source,
    Status,
    Workspace,
    WorkspaceStatus,
    record_label,
)
from podbay.core.provider import MachineState, Provider
from podbay.core.provider_admin import ProviderAdmin, ProviderFactory
from podbay.core.reporter import EventSink, Reporter
from podbay.core.ssh import bootstrap as ssh_bootstrap
from podbay.core.ssh import config as ssh_config
from podbay.core.ssh import keys as ssh_keys
from podbay.core.status import Drift, PollResult, status_of
from podbay.core.store import Store


class UpRequest(BaseModel):
    source: str | None = None
    name: str | None = None
    provider: str | None = None
    config: str | None = None
    image: str | None = None
    rebuild: bool = False
    yes: bool = False  # allow what a cloned repository or an image asks for (see core.consent)


HOOK_ORDER = (*ONCE_HOOKS, "postStartCommand", "postAttachCommand")


@dataclass
class _Attempt:
    """What one `up` made, so that a failure undoes only that."""

    created_record: bool
    made_folder: bool = False
    yes: bool = False
    confirm: consent.Confirm | None = None


_checkpoint = testseam.checkpoint  # crash tests kill `up` at each of these steps


class Engine:
    """Workspace operations over a store and the configured providers."""

    def __init__(
        self,
        store: Store,
        provider_factory: ProviderFactory,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.store = store
        self.providers = ProviderAdmin(store, provider_factory)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self._drift = Drift()

    # providers -----------------------------------------------------------------------------

    def default_provider_name(self) -> str | None:
        return self.providers.default()

    def provider(self, name: str) -> Provider:
        return self.providers.get(name)

    # up ------------------------------------------------------------------------------------

    async def up(
        self,
        request: UpRequest,
        on_event: EventSink | None = None,
        confirm: consent.Confirm | None = None,
    ) -> Workspace:
        """Create or resume a workspace and bring it to ready; returns the saved record.

        `confirm` is asked before anything a cloned repository or an image's metadata wants
        beyond its container runs (see core.consent); without it, `request.yes` decides.
        """
        if request.name is not None:
            sources.check_name(request.name)  # "" too: never silently replaced by a default
        workspace, source = self._target(request)
        name = (
            workspace.name
            if workspace
            else sources.check_name(request.name or sources.default_name(source))
        )
        provider_name = self._provider_for(request, workspace)
        provider = self.provider(provider_name)
        known = workspace or self.store.find_workspace(name)
        if known is not None and sources.same_source(known.source, source):
            self._check_same_settings(known, request)
        elif source.kind == "folder":
            # Fail on a bad config before anything is recorded or created.
            self._load_config(Path(source.value), request.config, request.image)

        report = Reporter(self.store.root, name, on_event)
        async with self.store.lock(
            name, "up", lambda holder: report.step(f"waiting for {holder} to finish")
        ):
            existing = self.store.find_workspace(name)
            if existing is not None and not sources.same_source(existing.source, source):
                raise NameTaken(
                    f"workspace {name!r} already exists with source {existing.source.display()}",
                    f"choose another name with --name, or remove it: podbay delete {name}",
                )
            attempt = _Attempt(existing is None, yes=request.yes, confirm=confirm)
            target = existing or self._new_workspace(name, source, provider_name, request)
            if attempt.created_record and not self.store.insert_workspace(target):
                raise NameTaken(f"workspace {name!r} was just created by another command", "")
            try:
                return await self._bring_up(target, provider, report, request.rebuild, attempt)
            except BaseException as exc:
                await self._after_failure(target, attempt, exc)
                raise

    def _check_same_settings(self, ws: Workspace, request: UpRequest) -> None:
        """An existing workspace keeps the --config/--image it was made with; another value is
        an error naming both, never silently ignored."""
        if request.image is not None and request.image != ws.image:
            raise NameTaken(
                f"workspace {ws.name!r} was made with "
                + (f"image {ws.image}" if ws.image else "its devcontainer.json")
                + f", not --image {request.image}",
                f"use another --name for a second workspace, or podbay delete {ws.name} first",
            )
        if request.config is None or ws.source.kind != "folder":
            return
        wanted = dcfind.find(Path(ws.folder), request.config).resolve()
        if ws.config_path is None or wanted != Path(ws.config_path).resolve():
            raise NameTaken(
                f"workspace {ws.name!r} was made with "
                + (f"config {ws.config_path}" if ws.config_path else f"image {ws.image}")
                + f", not --config {request.config}",
                f"use another --name for a second workspace, or podbay delete {ws.name} first",
            )

    def _target(self, request: UpRequest) -> tuple[Workspace | None, Source]:
        """The existing workspace (by name) or the parsed source of a new one."""
        if not request.source and not request.image:
            if not request.name:
                raise PodbayError("nothing to bring up", "give a SOURCE (folder, git URL, image)")
            found = self.store.workspace(request.name)
            return found, found.source
        if request.source and request.name is None and not request.image:
            named = self.store.find_workspace(request.source)
            in_cwd = (self.cwd or Path.cwd()) / request.source
            if named is not None and not in_cwd.exists():
                return named, named.source
        text = request.source or ""
        if request.image and request.source:
            # A folder with --image: the folder's files in that image, no config file needed.
            source = sources.parse(text, cwd=self.cwd)
            if source.kind != "folder":
                raise PodbayError(
                    "--image goes with a folder SOURCE or alone", "podbay up FOLDER --image IMAGE"
                )
            return None, source
        source = sources.parse(text, image=request.image, cwd=self.cwd)
        return None, source

    def _provider_for(self, request: UpRequest, workspace: Workspace | None) -> str:
        if workspace is not None:
            if request.provider and request.provider != workspace.provider:
                raise NameTaken(
                    f"workspace {workspace.name!r} lives on provider {workspace.provider!r}",
                    "choose another --name for a workspace on another provider",
                )
            return workspace.provider
        name = request.provider or self.default_provider_name()
        if not name:
            raise UnknownProvider("no provider configured", "podbay provider add docker")
        return name

    def _new_workspace(
        self, name: str, source: Source, provider: str, request: UpRequest
    ) -> Workspace:
        owned = source.kind != "folder"
        folder = source.value if not owned else str(paths.sources_dir(self.store.root) / name)
        folder = self.provider(provider).folder_for(name) or folder
        return Workspace(
            name=name,
            provider=provider,
            source=source,
            folder=folder,
            owned_folder=owned,
            config_arg=request.config,
            image=request.image or (source.value if source.kind == "image" else None),
            container_name=container_name(name, self.store.install_id()),
        )

    @staticmethod
    def _load_config(
        folder: Path, explicit: str | None, image: str | None, files: dcfiles.Files = dcfiles.LOCAL
    ) -> tuple[Path | None, dict[str, Any], list[str]]:
        if not files.is_dir(folder):
            raise SourceError(
                f"folder {folder} does not exist", "was it moved? podbay delete NAME, then up again"
            )
        if image is not None:
            return None, {"image": image}, []
        path = dcfind.find(folder, explicit, files)
        loaded = dcconfig.load(path, files)
        return path, loaded.raw, loaded.warnings

    def _job(self, ws: Workspace, report: Reporter) -> MachineJob:
        return MachineJob(
            workspace=ws,
            keys=ssh_keys.of(self.store.root, ws.name),
            install_id=self.store.install_id(),
            report=report,
            save=lambda: self.store.save_workspace(ws),
        )

    async def _bring_up(
        self,
        ws: Workspace,
        provider: Provider,
        report: Reporter,
        rebuild: bool,
        attempt: _Attempt,
    ) -> Workspace:
        job = self._job(ws, report)
        if provider.dedicated_machine:
            await provider.ensure_machine(job)
        async with self._host(provider, job) as host:
            return await self._bring_up_on(ws, host, report, rebuild, attempt)

    def _plan_context(self, ws: Workspace) -> PlanContext:
        return PlanContext(
            name=ws.name,
            local_folder=ws.folder,
            config_file=ws.config_path,
            container_name=ws.container_name,
            labels={
                LABEL_HOME: self.store.install_id(),
                LABEL_WORKSPACE: ws.name,
                LABEL_RECORD: record_label(ws),
            },
            env=self.env,
            image_name=images.image_name(ws.name, self.store.install_id()),
        )

    @staticmethod
    @contextlib.asynccontextmanager
    async def _host(provider: Provider, job: MachineJob) -> AsyncIterator[HostSession]:
        host = await provider.open_host(job)
        try:
            yield host
        finally:
            await host.close()

    async def _bring_up_on(
        self, ws: Workspace, host: HostSession, report: Reporter, rebuild: bool, attempt: _Attempt
    ) -> Workspace:
        _checkpoint("recorded")
        if ws.source.kind != "folder" or ws.folder != ws.source.value:
            made = False
            if not await host.exists(ws.folder):
                where = "" if host.local else " onto the machine"
                report.step(f"getting the source{where}: {self._source_text(ws)}")
                made = await sources.materialize(ws.source, ws.folder, host, report.log)
            attempt.made_folder = made
            if not made and ws.owned_folder and attempt.created_record:
                # Left by an earlier workspace of this name (its record lost): the work in it
                # is the user's, so it is used as it is and never removed by this `up`.
                report.warn(f"using the folder {ws.folder} that was already there (kept as it is)")
        _checkpoint("source")
        async with self._config_files(ws, host) as (files, copy):
            return await self._plan_and_make(ws, host, report, rebuild, attempt, files, copy)

    @staticmethod
    @contextlib.asynccontextmanager
    async def _config_files(
        ws: Workspace, host: HostSession
    ) -> AsyncIterator[tuple[dcfiles.Files, Path]]:
        """The config's files as this computer reads them: in place, or (for a folder on
        another machine) a copy of its devcontainer files that lives for this operation."""
        if host.local:
            yield dcfiles.LOCAL, Path(ws.folder)
            return
        with tempfile.TemporaryDirectory(prefix="podbay-config-") as tmp:
            copy = Path(tmp) / "source"
            await host.copy_out(ws.folder, list(dcfind.CONFIG_ENTRIES), copy)
            yield dcfiles.Files.copy_of(ws.folder, copy), copy

    async def _plan_and_make(
        self,
        ws: Workspace,
        host: HostSession,
        report: Reporter,
        rebuild: bool,
        attempt: _Attempt,
        files: dcfiles.Files,
        copy: Path,
    ) -> Workspace:
        config_path, raw, warnings = self._load_config(
            Path(ws.folder), ws.config_arg, ws.image, files
        )
        for warning in warnings:
            report.warn(warning)
        if ws.config_path != (str(config_path) if config_path else None):
            ws.config_path = str(config_path) if config_path else None
            self.store.save_workspace(ws)
        local_dir = self._read_dir(ws, files, copy)
        ctx = self._plan_context(ws)
        resolved = dcplan.resolve(raw, ctx)
        parts = await asyncio.to_thread(images.file_parts, resolved, local_dir, config_path)
        resolved.fingerprint.update(parts)
        if resolved.config.initializeCommand:
            command = resolved.config.initializeCommand
            shown = command if isinstance(command, str) else json.dumps(command)
            await self._consent(
                ws,
                attempt,
                "its initializeCommand runs on this computer",
                [f"runs on this computer: {printable(shown, 100_000)}"],
            )
            await hooks.run_initialize(command, ws, host, report)

        # Keys take ~20 ms to make; make them while Docker works.
        keys_ready = asyncio.create_task(
            asyncio.to_thread(ssh_keys.ensure, self.store.root, ws.name)
        )
        job = UpJob(ws, host, resolved, ctx, copy, local_dir, report, self.store.root, self.env)
        try:
            return await self._container_up(job, keys_ready, rebuild, attempt)
        except BaseException:
            await asyncio.wait([keys_ready])  # never leave the key writer behind
            raise

    @staticmethod
    def _source_text(ws: Workspace) -> str:
        return "an empty folder" if ws.source.kind == "image" else ws.source.display()

    async def _container_up(
        self,
        job: UpJob,
        keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
        rebuild: bool,
        attempt: _Attempt,
    ) -> Workspace:
        ws, report, docker = job.ws, job.report, job.host.docker
        container = await self._find_container(docker, ws.name)
        if container is not None and not rebuild and await self._never_started(job, container):
            # It failed to start (a port in use, a user that does not exist) and nothing ever
            # ran in it: made again from today's config rather than failing the same way.
            rebuild = True
        if container is not None and not rebuild:
            labels = container.get("Labels") or {}
            plan = await self._existing_plan(job, container, labels)
        else:
            # A build that reaches beyond the source is asked about before it runs.
            config_dir = str(Path(ws.config_path).parent) if ws.config_path else ws.folder
            asked = consent.build_access(job.resolved.build, config_dir, ws.folder)
            if job.resolved.compose is not None:
                files = ", ".join(job.resolved.compose.files)
                asked.append(f"runs its Docker Compose file(s) as they are ({files})")
            await self._consent(ws, attempt, "its build reaches beyond its source", asked)
            # The new image first: if it cannot be made, the old container is still there.
            plan = await images.prepare_image(job)
            for warning in plan.warnings:
                report.warn(warning)
            _checkpoint("image")
            await self._consent(
                ws,
                attempt,
                "its container would reach beyond itself",
                consent.container_access(plan.requests, ws.folder),
            )
            if container is not None:
                report.step("removing the old container (the source and volumes stay)")
                await asyncio.to_thread(docker.remove, container["Id"])
                container = None
            if job.compose is not None and plan.compose_service is not None:
                container_id = await images.compose_up(job, plan.compose_service)
            else:
                report.step(f"creating the container from {plan.image}")
                container_id = await asyncio.to_thread(docker.create, plan.create_args)
            # Recorded before it starts: a container that cannot start is still podbay's to
            # show (Error) and to delete.
            ws.container_id = container_id
            self.store.save_workspace(ws)
            _checkpoint("created")
        container_id = container["Id"] if container is not None else container_id

        info = await asyncio.to_thread(docker.inspect_container, container_id)
        if info is None:
            raise ProviderError("the container vanished while starting", "run podbay up again")
        if not info["State"].get("Running"):
            await part_of(docker, info, "start", report)
            report.step("starting the container")
            await asyncio.to_thread(docker.start, container_id)
            info = await asyncio.to_thread(docker.inspect_container, container_id) or info
        _checkpoint("started")

        container_env = dict(
            item.split("=", 1) for item in info["Config"].get("Env") or [] if "=" in item
        )
        plan = resolve_container_env(plan, container_env)
        ws.container_id = container_id
        ws.workspace_folder = plan.workspace_folder
        ws.remote_user = plan.remote_user
        new_container = ws.hooks_container != container_id
        # The user's shell environment changes with the container's start, not with each up.
        probe_key = f"{container_id}@{info['State'].get('StartedAt')}@{plan.user_env_probe}"
        if ws.probed_for != probe_key:
            ws.probed_env = await hooks.probe_user_env(
                docker, container_id, plan, report, new_container
            )
            ws.probed_for = probe_key
        probed = ws.probed_env
        remote_env = {k: v for k, v in plan.remote_env.items() if v is not None}
        ws.remote_env = {**probed, **remote_env}
        ws.forward_ports = plan.forward_ports
        ws.vscode_extensions = plan.vscode_extensions
        ws.attach_hooks = [c.model_dump() for c in plan.hooks.get("postAttachCommand", [])]
        if new_container:
            ws.hooks_container, ws.hooks_done, ws.post_start_at = container_id, [], None
            ws.usable = False
        self.store.save_workspace(ws)

        # SSH setup (root, /etc/podbay) runs alongside the hooks (remote user, workspace).
        ssh_setup = None
        if ws.ssh_container != container_id:
            ssh_env = {**container_env, **ws.remote_env}
            ssh_setup = asyncio.create_task(
                self._setup_ssh(ws, docker, ssh_env, keys_ready, report)
            )
        try:
            await self._run_hooks(ws, plan, docker, str(info["State"].get("StartedAt")), report)
        finally:
            if ssh_setup is not None:
                await ssh_setup
            await keys_ready
        self.write_ssh_config()
        _checkpoint("ssh")
        ws.phase, ws.error, ws.usable = "ready", None, True
        self.store.save_workspace(ws)
        report.done(f"workspace {ws.name} is ready ({plan.workspace_folder})")
        return ws

    async def _consent(
        self, ws: Workspace, attempt: _Attempt, title: str, items: list[str]
    ) -> None:
        await consent.ask(
            self.store, ws, title, items, attempt.yes, attempt.confirm, attempt.created_record
        )

    async def _never_started(self, job: UpJob, container: dict[str, Any]) -> bool:
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

    async def _existing_plan(
        self, job: UpJob, container: dict[str, Any], labels: dict[str, str]
    ) -> Plan:
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

    async def _setup_ssh(
        self,
        ws: Workspace,
        docker: DockerEndpoint,
        env: dict[str, str],
        keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
        report: Reporter,
    ) -> None:
        """sshd in the container with the workspace's keys; a failure only disables ssh."""
        assert ws.container_id is not None
        report.step("setting up SSH access")
        report.bind_loop()
        keys = await keys_ready
        result = await asyncio.to_thread(
            ssh_bootstrap.ensure_sshd,
            docker,
            ws.container_id,
            keys,
            ws.remote_user or "root",
            env,
            report.log_threadsafe,
        )
        ws.ssh_container, ws.ssh_ready, ws.ssh_note = ws.container_id, result.ready, result.note
        self.store.save_workspace(ws)
        # Pinned now, not at the end of `up`: attaching works from waitFor on, and a failing
        # later hook must not leave the workspace without its key (a false mismatch alarm).
        self.write_ssh_config()
        if not result.ready:
            report.warn(
                f"no SSH for {ws.name}: {result.note}; `podbay ssh {ws.name}` uses docker exec"
            )

    def write_ssh_config(self) -> None:
        """Rewrite podbay's ssh_config and known_hosts from the workspace records."""
        entries = []
        for ws in self.store.workspaces():
            keys = ssh_keys.of(self.store.root, ws.name)
            # Workspaces without sshd get an entry too: their ProxyCommand says why.
            if ws.ssh_container and keys.host_key.exists():
                entries.append(
                    ssh_config.HostEntry(
                        name=ws.name,
                        user=ws.remote_user or "root",
                        identity_file=keys.client_key,
                        host_public_key=keys.host_public(),
                    )
                )
        ssh_config.write(self.store.root, entries)

    async def _find_container(self, docker: DockerEndpoint, name: str) -> dict[str, Any] | None:
        found = await asyncio.to_thread(
            docker.list_containers,
            {LABEL_HOME: self.store.install_id(), LABEL_WORKSPACE: name},
        )
        found = [c for c in found if c.get("State") != "removing"]
        found.sort(key=lambda c: c.get("Created", 0), reverse=True)
        return found[0] if found else None

    async def _run_hooks(
        self, ws: Workspace, plan: Plan, docker: DockerEndpoint, started_at: str, report: Reporter
    ) -> None:
        """Once-per-container hooks (progress kept in podbay's store, which is always writable,
        not in the container), postStartCommand once per start, postAttachCommand every up."""

        async def run(hook: str) -> None:
            commands = plan.hooks.get(hook, [])
            if commands:
                await hooks.run_in_container(
                    ws, hook, commands, plan.workspace_folder, docker, report
                )
            if hook == plan.wait_for and not ws.usable:
                # waitFor: attaching works from here on, while the later hooks run on.
                ws.usable = True
                self.store.save_workspace(ws)
                if hook != HOOK_ORDER[-1]:
                    report.step(f"{ws.name} can be attached to now; the remaining hooks run on")

        for hook in ONCE_HOOKS:
            if hook not in ws.hooks_done:
                await run(hook)
                ws.hooks_done = [*ws.hooks_done, hook]
                self.store.save_workspace(ws)
            _checkpoint(f"hook:{hook}")
        if ws.post_start_at != started_at:
            await run("postStartCommand")
        ws.post_start_at = started_at
        self.store.save_workspace(ws)
        await run("postAttachCommand")

    async def _after_failure(self, ws: Workspace, attempt: _Attempt, exc: BaseException) -> None:
        if not isinstance(exc, Exception):
            return  # interrupted (Ctrl-C, cancel): leave the record for the next `up` to repair
        container_made = ws.container_id is not None
        # A machine podbay may have asked for (a launch whose answer was lost included) keeps
        # the record: the next `up` finds it by its tags and ClientToken, `delete` removes it.
        machine_asked = bool(ws.machine)
        if attempt.created_record and not container_made and not machine_asked:
            # Nothing was built on the machine: forget the workspace so a fixed retry starts
            # clean. Only a folder this very `up` made goes with it; one that was there stays.
            self.store.remove_workspace(ws.name)
            if attempt.made_folder:
                await asyncio.to_thread(shutil.rmtree, ws.folder, True)
            shutil.rmtree(ssh_keys.of(self.store.root, ws.name).folder, ignore_errors=True)
            return  # its log stays: `podbay logs NAME` still shows why it failed
        ws.phase = "failed"
        ws.error = exc.message if isinstance(exc, PodbayError) else str(exc).splitlines()[0]
        self.store.save_workspace(ws)

    # start / stop / delete -----------------------------------------------------------------

    async def start(self, name: str, on_event: EventSink | None = None) -> Workspace:
        """Start a stopped workspace (reruns postStartCommand); repairs an unfinished one."""
        return await self.up(UpRequest(name=name), on_event)

    @contextlib.asynccontextmanager
    async def _operation(
        self, name: str, operation: str, on_event: EventSink | None
    ) -> AsyncIterator[tuple[Workspace, Provider, MachineJob]]:
        """Lock the workspace for one operation."""
        self.store.workspace(name)
        report = Reporter(self.store.root, name, on_event)
        async with self.store.lock(name, operation, lambda h: report.step(f"waiting for {h}")):
            # Read under the lock: an operation that waited acts on what is there now.
            ws = self.store.workspace(name)
            yield ws, self.provider(ws.provider), self._job(ws, report)

    async def stop(self, name: str, on_event: EventSink | None = None) -> Workspace:
        """Stop the container; a workspace's own machine is stopped with it (disk kept)."""
        async with self._operation(name, "stop", on_event) as (ws, provider, job):
            if provider.dedicated_machine:
                await provider.stop_machine(job)
            else:
                async with self._host(provider, job) as host:
                    container = await self._find_container(host.docker, name)
                    if container is not None and container.get("State") == "running":
                        job.report.step("stopping the container")
                        await asyncio.to_thread(host.docker.stop, container["Id"])
                    if container is not None:
                        await part_of(host.docker, container, "stop", job.report)
            job.report.done(f"workspace {name} is stopped")
        return ws

    async def work_at_risk(self, name: str) -> tuple[list[str], list[str]]:
        """What `delete` would lose: (work in podbay's copy of the source: uncommitted,
        untracked, unpushed, stashed; other things: the container's anonymous volumes)."""
        ws = self.store.workspace(name)
        provider = self.provider(ws.provider)
        job = self._job(ws, Reporter(self.store.root, name, None))
        if provider.dedicated_machine:
            work = await self._work_on_machine(ws, provider, job) if ws.owned_folder else []
            return work, []
        async with self._host(provider, job) as host:
            return await self._at_risk_here(ws, host)

    async def _at_risk_here(self, ws: Workspace, host: HostSession) -> tuple[list[str], list[str]]:
        """(work in the folder, other things) `delete` would lose on this engine. The folder is
        checked first: it needs no Docker, so an engine that is down still shows the work."""
        work = await unsaved.work_at_risk(ws, host) if Path(ws.folder).exists() else []
        try:
            found = await self._find_container(host.docker, ws.name)
            info = (
                await asyncio.to_thread(host.docker.inspect_container, found["Id"])
                if found is not None
                else None
            )
        except PodbayError as exc:
            return work, [f"its container's volumes, which were not checked ({exc.message})"]
        return work, unsaved.volumes_at_risk(info or {})

    async def delete(
        self, name: str, on_event: EventSink | None = None, force: bool = False
    ) -> Workspace:
        """Remove the container (or the workspace's whole machine), podbay's own copy of the
        source, keys and state. A folder the user gave as SOURCE is never touched.

        Work that would be lost with podbay's copy of the source (uncommitted changes,
        untracked files, commits on no remote, stashes) stops the delete unless `force`. With
        `force`, a provider that cannot be reached does not stop it either: the records and
        local files go, and what may be left on the provider is named.
        """
        async with self._operation(name, "delete", on_event) as (ws, provider, job):
            report = job.report
            try:
                await self._delete_on_provider(ws, provider, job, force)
            except (DockerUnreachable, ProviderError) as exc:
                if not force:
                    raise
                report.warn(
                    f"{exc.message}; its container or machine may be left on provider "
                    f"{ws.provider} (named {ws.container_name}, labelled "
                    f"{LABEL_WORKSPACE}={ws.name})"
                )
            folder = Path(ws.folder)
            if ws.owned_folder and folder.is_relative_to(self.store.root):
                report.step(f"removing podbay's copy of the source ({ws.folder})")
                if folder.is_symlink():
                    folder.unlink()  # the link only, never what it points at
                else:
                    await asyncio.to_thread(shutil.rmtree, ws.folder, True)
            shutil.rmtree(paths.builds_dir(self.store.root) / name, ignore_errors=True)
            shutil.rmtree(ssh_keys.of(self.store.root, name).folder, ignore_errors=True)
            self.store.remove_workspace(name)
            self.write_ssh_config()
            report.done(f"workspace {name} is deleted")
        # The lock file stays: a process waiting on it holds it open, and a new file would let
        # a newcomer take a second lock beside it.
        (paths.logs_dir(self.store.root) / f"{name}.log").unlink(missing_ok=True)
        return ws

    async def _work_on_machine(
        self, ws: Workspace, provider: Provider, job: MachineJob
    ) -> list[str]:
        """What terminating the workspace's own machine would lose, checked on the machine;
        a machine that does not answer cannot be checked, which is said as such."""
        if not ws.machine:
            return []  # never launched: nothing there
        try:
            async with self._host(provider, job) as host:
                return await unsaved.work_at_risk(ws, host)
        except PodbayError as exc:
            return [
                f"its files on the machine were not checked ({exc.message}); start it to "
                f"check them: podbay start {ws.name}"
            ]

    async def _delete_on_provider(
        self, ws: Workspace, provider: Provider, job: MachineJob, force: bool
    ) -> None:
        name, report = ws.name, job.report
        if provider.dedicated_machine:
            if not force and ws.owned_folder:
                work = await self._work_on_machine(ws, provider, job)
                if work:
                    raise WorkAtRisk(ws.name, ws.folder, work, [])
            await provider.delete_machine(job)  # its containers and files go with it
            return
        async with self._host(provider, job) as host:
            if not force:
                work, other = await self._at_risk_here(ws, host)
                if work or other:
                    raise WorkAtRisk(ws.name, ws.folder, work, other)
            found = await self._find_container(host.docker, name)
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
            while (container := await self._find_container(host.docker, name)) is not None:
                await part_of(host.docker, container, "remove", report)
                projects.add((container.get("Labels") or {}).get(LABEL_PART_OF))
                report.step(f"removing container {container['Id'][:12]}")
                await asyncio.to_thread(host.docker.remove, container["Id"])
            for project in projects - {None}:  # compose's network, now unused
                labels = {"com.docker.compose.project": str(project)}
                await asyncio.to_thread(host.docker.prune_networks, labels)
            await self._remove_images(host.docker, name, report)

    async def _remove_images(self, docker: DockerEndpoint, name: str, report: Reporter) -> None:
        """The images podbay built for the workspace (its Dockerfile, features, UID update)."""
        labels = {LABEL_HOME: self.store.install_id(), LABEL_WORKSPACE: name}
        images = await asyncio.to_thread(docker.list_images, labels)
        # Newest first: the image built on top goes before the one it was built from.
        for image in sorted(images, key=lambda i: i.get("Created", 0), reverse=True):
            report.step(f"removing image {', '.join(image.get('RepoTags') or [image['Id'][:19]])}")
            try:
                await asyncio.to_thread(docker.remove_image, image["Id"])
            except PodbayError as exc:
                report.warn(f"{exc.message}; remove it with: docker rmi {image['Id'][:19]}")

    # status --------------------------------------------------------------------------------

    async def status_all(self) -> list[WorkspaceStatus]:
        """Every workspace with live status: ONE container list call per provider."""
        return (await self.poll()).statuses

    async def poll(self, drift: bool = False) -> PollResult:
        """Live status of every workspace and whether each provider answers.

        One container list call per configured provider, whatever the number of workspaces.
        With `drift`, each status also says which parts of its config changed since its
        container was made (read again only when a file in the config's folder changed).
        """
        # Reading and validating hundreds of records, and probing their locks, happens in a
        # thread: a TUI polling on its event loop must not stall key handling.
        workspaces = await asyncio.to_thread(self.store.workspaces)
        names = {p.name for p in self.store.providers()} | {ws.provider for ws in workspaces}

        install_id = self.store.install_id()

        async def poll_one(provider_name: str) -> tuple[str, dict[str, MachineState] | str]:
            mine = [ws for ws in workspaces if ws.provider == provider_name]
            try:
                return provider_name, await self.provider(provider_name).poll(install_id, mine)
            except PodbayError as exc:
                return provider_name, exc.message

        polled = dict(await asyncio.gather(*(poll_one(p) for p in sorted(names))))

        on_machines = {
            ws.name: self._drift.on_machine(ws, functools.partial(self._machine_drift, ws))
            for ws in workspaces
            if drift and ws.machine and ws.phase == "ready" and self._running(polled, ws)
        }

        def one(ws: Workspace) -> WorkspaceStatus:
            found = polled[ws.provider]
            state = found.get(ws.name) if isinstance(found, dict) else None
            holder = self.store.lock_holder(ws.name)
            # Drift is shown for a finished workspace with its container; not worked out else.
            shown = drift and holder is None and ws.phase == "ready" and state is not None
            if ws.name in on_machines:
                changed = on_machines[ws.name] if shown else []
            elif shown and state is not None:
                changed = self._drift.changed(ws, state.fingerprint, self._resolve)
            else:
                changed = []
            return status_of(ws, found, holder, changed)

        statuses = await asyncio.to_thread(lambda: [one(ws) for ws in workspaces])
        return PollResult(
            statuses=statuses,
            provider_errors={
                name: result if isinstance(result, str) else None for name, result in polled.items()
            },
        )

    @staticmethod
    def _running(polled: dict[str, dict[str, MachineState] | str], ws: Workspace) -> bool:
        found = polled.get(ws.provider)
        state = found.get(ws.name) if isinstance(found, dict) else None
        return state is not None and state.status == Status.RUNNING

    def _resolve(
        self, ws: Workspace, files: dcfiles.Files = dcfiles.LOCAL, copy: Path | None = None
    ) -> dcplan.Resolved:
        """The workspace's config as it is now (for drift), its files' fingerprint included."""
        _, raw, _ = self._load_config(Path(ws.folder), ws.config_arg, ws.image, files)
        resolved = dcplan.resolve(raw, self._plan_context(ws))
        assert ws.config_path is not None
        config_file = Path(ws.config_path)
        local_dir = self._read_dir(ws, files, copy or Path(ws.folder))
        resolved.fingerprint.update(images.file_parts(resolved, local_dir, config_file))
        return resolved

    @staticmethod
    def _read_dir(ws: Workspace, files: dcfiles.Files, copy: Path) -> Path:
        """The config's folder as read here: itself, or its place in the copy of another
        machine's files."""
        if not ws.config_path:
            return copy
        if files.local:
            return Path(ws.config_path).parent  # anywhere, as the reference CLI allows
        return copy / Path(ws.config_path).parent.relative_to(ws.folder)

    async def _machine_drift(self, ws: Workspace) -> list[str]:
        """Drift read where the workspace runs: its container's fingerprint and its config (on
        its own machine, over one connection)."""
        provider = self.provider(ws.provider)
        job = self._job(ws, Reporter(self.store.root, ws.name, None))
        async with self._host(provider, job) as host:
            container = await self._find_container(host.docker, ws.name)
            before = ((container or {}).get("Labels") or {}).get(dcplan.LABEL_FINGERPRINT)
            if not before or not ws.config_path:
                return []
            async with self._config_files(ws, host) as (files, copy):
                resolved = await asyncio.to_thread(self._resolve, ws, files, copy)
        return dcplan.changed_parts(json.loads(before), resolved.fingerprint)

    async def drift(self, name: str) -> list[str]:
        """What changed in a workspace's config since its container was made, asked now."""
        return await self._machine_drift(self.store.workspace(name))

    async def status(self, name: str) -> WorkspaceStatus:
        ws = self.store.workspace(name)
        return next(s for s in await self.status_all() if s.workspace.name == ws.name)

    # logs ----------------------------------------------------------------------------------

    def log_file(self, name: str) -> Path:
        """The workspace's log; also that of a first `up` that failed (its record is gone)."""
        path = paths.logs_dir(self.store.root) / f"{name}.log"
        if self.store.find_workspace(name) is None and not (
            WORKSPACE_NAME.fullmatch(name) and path.is_file()
        ):
            self.store.workspace(name)  # the usual "no workspace named" error
        return path
