"""The workspace lifecycle: up, start, stop, delete, status, logs. Async; blocking work in threads.

Crash safety: a new workspace is recorded (phase "creating") before anything is created, an
existing one goes back to "creating" as each `up` starts, and every later step is idempotent
(find the container by its labels, clone into a temporary folder renamed at the end, once-hooks
recorded per container after they succeed), so after a kill -9 at any point `podbay up NAME`
picks up where it stopped. A workspace is "ready" only when all of `up` finished; until then
`list` shows it as Busy (lock held), Incomplete (interrupted) or Error (failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from podbay.core import (
    consent,
    git_credentials,
    hooks,
    ide,
    images,
    oplog,
    paths,
    prebuild,
    prebuild_push,
    registry_access,
    room,
    secrets_store,
    teardown,
    testseam,
    used,
)
from podbay.core import source as sources
from podbay.core import sync as copies
from podbay.core.container_up import Attempt, ask_consent, container_up
from podbay.core.devcontainer import files as dcfiles
from podbay.core.devcontainer import find as dcfind
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.plan import PlanContext, container_name
from podbay.core.devcontainer.values import WORKSPACE_NAME, has_control, printable, shown
from podbay.core.docker import DockerEndpoint
from podbay.core.docker_cli import current_context_host
from podbay.core.errors import NameTaken, PodbayError, UnknownProvider
from podbay.core.host import HostSession
from podbay.core.images import UpJob
from podbay.core.model import Source, Status, Workspace, WorkspaceStatus
from podbay.core.poll import Poller
from podbay.core.provider import MachineJob, Provider
from podbay.core.provider_admin import ProviderAdmin, ProviderFactory
from podbay.core.registry import credentials as docker_credentials
from podbay.core.reporter import EventSink, Reporter
from podbay.core.ssh import keys as ssh_keys
from podbay.core.ssh import setup as ssh_setup
from podbay.core.status import PollResult
from podbay.core.store import Store
from podbay.core.workspace_config import (
    config_files,
    load_config,
    mount_folder,
    plan_context,
    read_dir,
)
from podbay.core.workspace_host import machine_job, open_host


class UpRequest(BaseModel):
    source: str | None = None
    name: str | None = None
    provider: str | None = None
    config: str | None = None
    image: str | None = None
    rebuild: bool = False
    yes: bool = False  # allow what a cloned repository or an image asks for (see core.consent)
    no_dotfiles: bool = False  # a new container goes without the user's dotfiles
    # A new workspace of a folder inside a git repository mounts the repository (the reference
    # CLI's --mount-workspace-git-root, on by default); False mounts the folder alone.
    git_root: bool = True
    # A repository of prebuilds (core/prebuild.py) to start from, else the config's own.
    prebuild: str | None = None
    room: str | None = None  # a new workspace is one of this room (core/room.py)


_checkpoint = testseam.checkpoint  # crash tests kill `up` at each of these steps


class Engine:
    """Workspace operations over a store and the configured providers."""

    def __init__(
        self,
        store: Store,
        provider_factory: ProviderFactory,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        origin: str = "CLI",
    ) -> None:
        self.store = store
        self.origin = origin  # which front runs it: named in each operation's log header
        self.providers = ProviderAdmin(store, provider_factory)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self._poller = Poller(store, self.providers, self.env)

    # providers -----------------------------------------------------------------------------

    def default_provider_name(self) -> str | None:
        return self.providers.default()

    def provider(self, name: str) -> Provider:
        return self.providers.get(name)

    async def read_secrets(
        self, wanted: list[tuple[str, str]], workspace: str = ""
    ) -> secrets_store.Answers:
        """Secret references' values for `workspace`, each (provider name, reference) read with
        that provider (else the first provider that reads such references, the default first):
        here, all at once, or on the workspace's machine in one go when that provider reads
        there (an AWS provider's `secrets_on_vm`)."""
        found: dict[tuple[str, str], str | PodbayError] = {}
        ws = self.store.find_workspace(workspace) if workspace else None
        here: list[tuple[tuple[str, str], str]] = []
        on_machine: list[tuple[str, str]] = []
        for key in wanted:
            reader = self.providers.reader(key[1], key[0])
            there = ws is not None and ws.provider == reader
            if reader is None:
                found[key] = PodbayError(
                    f"no provider here reads the secret reference {key[1]}",
                    "add an AWS provider (podbay provider add aws), or name one: podbay secret "
                    "set NAME --ref REF --provider AWS_NAME",
                )
            elif there and ws is not None and self.provider(reader).reads_secrets_on(ws):
                on_machine.append(key)
            else:
                here.append((key, reader))

        async def read_here(key: tuple[str, str], reader: str) -> None:
            try:
                found[key] = await self.provider(reader).read_secret(key[1])
            except PodbayError as exc:
                found[key] = exc

        async def read_on_machine(ws: Workspace) -> None:
            job = machine_job(self.store, ws, Reporter(self.store.root, ws.name, None))
            references = [reference for _, reference in on_machine]
            try:
                answers = await self.provider(ws.provider).read_secrets_on(references, job)
            except PodbayError as exc:
                answers = dict.fromkeys(references, exc)
            found.update({key: answers[key[1]] for key in on_machine})

        await asyncio.gather(
            *(read_here(key, reader) for key, reader in here),
            *([read_on_machine(ws)] if ws is not None and on_machine else []),
        )
        return found

    def _secret_reader(self, workspace: str) -> secrets_store.ReadReferences:
        return lambda wanted: self.read_secrets(wanted, workspace)

    def _registry_login(self, provider: str) -> registry_access.Lookup:
        """A registry's credentials: the provider's own first (an ECR registry of its account:
        a fresh token, where a docker login here may be hours old and expired), else this
        computer's docker login."""

        async def lookup(registry: str) -> tuple[str, str] | None:
            found = await self.provider(provider).registry_login(registry)
            return found or await asyncio.to_thread(docker_credentials, registry, self.env)

        return lookup

    async def secret_values(self, name: str, report: Reporter | None = None) -> dict[str, str]:
        """The workspace's secrets, NAME -> value ({} when none are set). With `report` (the
        hooks of an `up` or `start`), one that cannot be read is a warning and left out: a
        broken secret does not keep a workspace from starting."""
        if not secrets_store.listed(self.store):
            return {}
        if report is None:
            return await secrets_store.values_for(self.store, name, self._secret_reader(name))
        problems: list[PodbayError] = []
        read = self._secret_reader(name)
        values = await secrets_store.values_for(self.store, name, read, problems)
        for problem in problems:
            report.warn(f"{problem.message}; the hooks run without it ({problem.hint})")
        return values

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
        if request.prebuild is not None:
            prebuild.check_repository(request.prebuild)
        workspace, source = self._target(request)
        name = (
            workspace.name
            if workspace
            else sources.check_name(request.name or sources.default_name(source))
        )
        known = workspace or self.store.find_workspace(name)
        # The workspace this source already has (up FOLDER again) stays on its provider.
        same = known if known is not None and sources.same_source(known.source, source) else None
        provider_name = self._provider_for(request, workspace or same)
        provider = self.provider(provider_name)
        if known is not None and sources.same_source(known.source, source):
            self._check_same_settings(known, request)
        elif source.kind == "folder":
            # Fail on a bad config before anything is recorded or created.
            load_config(Path(source.value), request.config, request.image)

        report = Reporter(self.store.root, name, on_event)
        report.begin("up --rebuild" if request.rebuild else "up", self.origin)
        async with self.store.lock(
            name,
            f"up (from the {self.origin})",
            lambda holder: report.step(f"waiting for {holder} to finish"),
        ):
            existing = self.store.find_workspace(name)
            if existing is not None and not sources.same_source(existing.source, source):
                if not _made_nothing(existing):
                    raise NameTaken(
                        f"workspace {name!r} already exists with source "
                        f"{existing.source.display()}",
                        f"choose another name with --name, or remove it: podbay delete {name}",
                    )
                # Its first `up` failed before anything was made: this source takes the name.
                report.warn(
                    f"replacing workspace {name} (its `up` from {existing.source.display()} "
                    "failed before anything was made)"
                )
                self.store.remove_workspace(name)
                shutil.rmtree(ssh_keys.of(self.store.root, name).folder, ignore_errors=True)
                existing = None
            attempt = Attempt(
                existing is None,
                yes=request.yes,
                confirm=confirm,
                no_dotfiles=request.no_dotfiles,
            )
            target = existing or await self._new_workspace(name, source, provider_name, request)
            if attempt.created_record and not self.store.insert_workspace(target):
                raise NameTaken(f"workspace {name!r} was just created by another command", "")
            if attempt.created_record and target.folder_rel:
                report.step(
                    f"the git repository {mount_folder(target.folder, target.folder_rel)} is "
                    f"mounted, the work starting in {target.folder_rel}, as other devcontainer "
                    "tools do (up --no-git-root mounts the folder alone)"
                )
            if request.prebuild and target.prebuild != request.prebuild:
                target.prebuild = request.prebuild  # (used when its image is made next)
            if target.phase != "creating":
                # Until this `up` finishes: a crash, Ctrl-C or cancel leaves it Incomplete.
                target.phase, target.error = "creating", None
                self.store.save_workspace(target)
            try:
                return await self._bring_up(target, provider, report, request.rebuild, attempt)
            except BaseException as exc:
                if isinstance(exc, Exception):
                    report.failed(exc)
                else:
                    report.warn("interrupted before it finished; the next `up` finishes it")
                await self._after_failure(target, attempt, exc)
                raise

    async def up_room(
        self,
        request: UpRequest,
        count: int,
        prefix: str,
        on_event: EventSink | None = None,
        confirm: consent.Confirm | None = None,
        on_done: Callable[[room.Member], None] | None = None,
    ) -> list[room.Member]:
        """`count` workspaces of the request's source named PREFIX01.., one room (core/room.py);
        each member's outcome, a failed one with its error."""
        wanted = room.names(prefix, count)
        if request.name is not None:
            raise PodbayError("--name and --count do not go together", "--prefix names them")
        if not request.source and not request.image:
            raise PodbayError("a room needs a SOURCE", f"podbay up SOURCE --count {count}")
        provider = self.provider(request.provider or self.default_provider_name() or "")
        for name in wanted:
            found = self.store.find_workspace(name)
            if found is not None and found.room != prefix:
                raise NameTaken(
                    f"workspace {name!r} exists and is not of room {prefix!r}",
                    f"choose another --prefix, or remove it: podbay delete {name}",
                )

        def one(name: str) -> Awaitable[Workspace]:
            member = request.model_copy(update={"name": name, "room": prefix})
            return self.up(member, on_event, confirm)

        return await room.run(wanted, one, provider.room_parallel, on_done)

    async def delete_room(
        self,
        prefix: str,
        on_event: EventSink | None = None,
        force: bool = False,
        on_done: Callable[[room.Member], None] | None = None,
    ) -> list[room.Member]:
        """Delete every workspace of room PREFIX, several at a time; each one's outcome (one
        with unsaved work is kept unless `force`)."""
        members = room.of_room(self.store.workspaces(), prefix)
        if not members:
            raise PodbayError(f"no room {printable(prefix)} here", "see: podbay list")
        known = {c.name for c in self.store.providers()}
        parallel = max(
            self.provider(w.provider).room_parallel if w.provider in known else 1 for w in members
        )

        def one(name: str) -> Awaitable[Workspace]:
            return self.delete(name, on_event, force)

        return await room.run([w.name for w in members], one, parallel, on_done, False)

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
        if not request.git_root and ws.folder_rel:
            raise NameTaken(
                f"workspace {ws.name!r} was made mounting its git repository; --no-git-root "
                "applies to a workspace being made",
                f"podbay delete {ws.name}, then podbay up --no-git-root (or give another --name)",
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

    async def _new_workspace(
        self, name: str, source: Source, provider: str, request: UpRequest
    ) -> Workspace:
        owned = source.kind != "folder"
        folder = source.value if not owned else str(paths.sources_dir(self.store.root) / name)
        on_machine = self.provider(provider).folder_for(name)
        in_place = on_machine is None
        folder_name, rel = await self._folder_name(name, source, in_place, request.git_root)
        remotes = await asyncio.to_thread(git_credentials.own_hosts, source.model_dump())
        return Workspace(
            git_hosts=[f"{protocol}://{host}" for protocol, host in remotes],
            name=name,
            provider=provider,
            source=source,
            folder=on_machine or folder,
            owned_folder=owned,
            folder_name=folder_name,
            folder_rel=rel,
            config_arg=request.config,
            image=request.image or (source.value if source.kind == "image" else None),
            container_name=container_name(name, self.store.install_id()),
            prebuild=request.prebuild,
            room=request.room,
        )

    @staticmethod
    async def _folder_name(
        name: str, source: Source, in_place: bool, git_root: bool = True
    ) -> tuple[str, str]:
        """The source's name under /workspaces and its path below what is mounted: a folder
        used in place that is inside a git repository mounts the repository (the reference
        CLI's rule, unless `git_root` is off); a folder copied to a machine is mounted alone,
        under its own name."""
        if in_place and git_root and source.kind == "folder":
            root, rel = await sources.git_root(Path(source.value))
            return sources.folder_name(Source(kind="folder", value=str(root)), name), rel
        return sources.folder_name(source, name), ""

    async def _renamed_folder(
        self, ws: Workspace, ctx: PlanContext, raw: dict[str, Any], report: Reporter
    ) -> PlanContext:
        """For the rebuild of a workspace made when the folder was mounted at /workspaces/NAME:
        the plan with the folder's own name (recorded with the new container, so a failed
        rebuild leaves the old one as it was), and a word where that moves the work."""
        in_place = self.provider(ws.provider).folder_for(ws.name) is None
        name, rel = await self._folder_name(ws.name, ws.source, in_place)
        after = ctx.model_copy(
            update={
                "folder_name": name,
                "folder_rel": rel,
                "mount_folder": mount_folder(ws.folder, rel),
            }
        )
        moved = after.default_folder != ctx.default_folder
        if moved and not raw.get("dockerComposeFile") and "workspaceMount" not in raw:
            target = after.default_folder
            shown = printable(target) if has_control(target) else target
            report.step(
                f"the workspace folder is now {shown} (was {ctx.default_folder}): the "
                "folder's own name, as other devcontainer tools mount it"
            )
        return after

    def _job(self, ws: Workspace, report: Reporter) -> MachineJob:
        return machine_job(self.store, ws, report)

    async def _bring_up(
        self,
        ws: Workspace,
        provider: Provider,
        report: Reporter,
        rebuild: bool,
        attempt: Attempt,
    ) -> Workspace:
        job = self._job(ws, report)
        await provider.ensure_machine(job)  # (nothing to do on a shared engine)
        async with open_host(provider, job) as host:
            return await self._bring_up_on(ws, host, report, rebuild, attempt)

    async def _bring_up_on(
        self, ws: Workspace, host: HostSession, report: Reporter, rebuild: bool, attempt: Attempt
    ) -> Workspace:
        _checkpoint("recorded")
        if ws.source.kind != "folder" or ws.folder != ws.source.value:
            made = False
            if not await host.exists(ws.folder):
                where = "" if host.local else " onto the machine"
                report.step(f"getting the source{where}: {self._source_text(ws)}")
                made = await sources.materialize(ws.source, ws.folder, host, report.log)
                if made and copies.is_copy(ws):  # (what changes there from now on: podbay sync)
                    await copies.mark(host, ws)
                    self.store.save_workspace(ws)
            # Removed after a failure only here: a folder on another machine goes with it.
            attempt.made_folder = made and host.local
            if not made and ws.owned_folder and attempt.created_record:
                # Left by an earlier workspace of this name (its record lost): the work in it
                # is the user's, so it is used as it is and never removed by this `up`.
                report.warn(f"using the folder {ws.folder} that was already there (kept as it is)")
            elif not made and ws.source.kind == "folder" and attempt.created_record:
                # A copy a deleted workspace of this name left on the machine (delete keeps it).
                report.warn(
                    f"using the copy at {ws.folder} on the machine that was already there, as "
                    f"it is: not copied again from {ws.source.value}; to copy afresh, remove it "
                    "there and run up again"
                )
        _checkpoint("source")
        async with config_files(ws, host) as (files, copy):
            return await self._plan_and_make(ws, host, report, rebuild, attempt, files, copy)

    async def _plan_and_make(
        self,
        ws: Workspace,
        host: HostSession,
        report: Reporter,
        rebuild: bool,
        attempt: Attempt,
        files: dcfiles.Files,
        copy: Path,
    ) -> Workspace:
        config_path, raw, warnings = load_config(Path(ws.folder), ws.config_arg, ws.image, files)
        for warning in warnings:
            report.warn(warning)
        if ws.config_path != (str(config_path) if config_path else None):
            ws.config_path = str(config_path) if config_path else None
            self.store.save_workspace(ws)
        local_dir = read_dir(ws, files, copy)
        ctx = plan_context(ws, self.store.install_id(), self.env)
        if rebuild and ws.folder_name is None:
            ctx = await self._renamed_folder(ws, ctx, raw, report)
        resolved = dcplan.resolve(raw, ctx)
        parts = await asyncio.to_thread(images.file_parts, resolved, local_dir, config_path)
        resolved.fingerprint.update(parts)
        if resolved.config.initializeCommand:
            command = resolved.config.initializeCommand
            shown = command if isinstance(command, str) else json.dumps(command)
            await ask_consent(
                self.store,
                ws,
                attempt,
                "its initializeCommand runs on this computer",
                [f"runs on this computer: {printable(shown, 100_000)}"],
            )
            await hooks.run_initialize(command, ws, host, report)

        secrets = await self.secret_values(ws.name, report)  # for the hooks; never logged
        # Keys take ~20 ms to make; make them while Docker works.
        keys_ready = asyncio.create_task(
            asyncio.to_thread(ssh_keys.ensure, self.store.root, ws.name)
        )
        job = UpJob(ws, host, resolved, ctx, copy, local_dir, report, self.store.root, self.env)
        job.secrets = secrets
        job.registry_login = self._registry_login(ws.provider)
        job.provider_login = self.provider(ws.provider).registry_login
        job.prebuilds = prebuild.repository_of(resolved, ws.prebuild)
        try:
            return await container_up(self.store, job, keys_ready, rebuild, attempt)
        except BaseException:
            await asyncio.wait([keys_ready])  # never leave the key writer behind
            raise

    # prebuilds ------------------------------------------------------------------------------

    async def prebuild(
        self,
        source: str,
        repository: str,
        on_event: EventSink | None = None,
        config: str | None = None,
        provider: str | None = None,
        create_repository: bool = False,
    ) -> prebuild_push.Pushed:
        """Make SOURCE's prebuild on this computer's Docker and push it to `repository`; an
        ECR repository of an AWS provider's account is pushed with that provider's login (and
        made first with `create_repository`)."""
        repository = prebuild.check_repository(repository, "--push")
        owner = await self._repository_owner(repository, provider, create_repository)
        report = Reporter(self.store.root, "_prebuild", on_event)
        report.begin(f"prebuild {source} --push {repository}", self.origin)
        try:
            return await prebuild_push.make(
                self.store,
                self.env,
                self._local_docker(),
                source,
                repository,
                report,
                config,
                self._registry_login(owner) if owner else None,
                self.cwd,
            )
        except Exception as exc:
            report.failed(exc)
            raise

    async def prebuilds(self, repository: str | None = None) -> list[prebuild_push.Listed]:
        """The prebuilds a repository holds; without one, those of every repository pushed
        to from here."""
        wanted = [prebuild.check_repository(repository, "--list")] if repository else []
        wanted = wanted or list(
            dict.fromkeys(p.image.rpartition(":")[0] for p in prebuild_push.pushed_here(self.store))
        )
        found: list[prebuild_push.Listed] = []
        for repo in wanted:
            login = await self._any_provider_login(registry_access.registry_of(repo))
            found += await asyncio.to_thread(prebuild_push.listing, repo, self.env, login)
        return found

    async def _any_provider_login(self, registry: str) -> tuple[str, str] | None:
        """A provider's login for `registry` (an AWS provider's for its account's ECR: a
        pull-only policy has it), else None: this computer's docker login is read then."""
        for config in self.store.providers():
            with contextlib.suppress(PodbayError):
                if found := await self.provider(config.name).registry_login(registry):
                    return found
        return None

    async def _repository_owner(self, repository: str, named: str | None, create: bool) -> str:
        """The provider whose registry holds `repository` (an ECR repository of an AWS
        provider's account), checked (made, with `create`); "" when it is nobody's."""
        if named:
            provider = self.providers.find(named)
            return provider.name if await provider.ensure_repository(repository, create) else ""
        failed: PodbayError | None = None
        for config in self.store.providers():
            try:  # (one provider's expired credentials do not stop another's repository)
                if await self.provider(config.name).ensure_repository(repository, create):
                    return config.name
            except PodbayError as exc:
                failed = failed or exc
        if failed is not None:  # nobody else's either: what went wrong is the answer
            raise failed
        if create:
            raise PodbayError(
                f"{repository} is not an ECR repository of an AWS provider here",
                "--create-repository makes ECR repositories; make others on their registry",
            )
        return ""

    def _local_docker(self) -> DockerEndpoint:
        """This computer's Docker: the docker provider's engine (the default one first)."""
        default = self.default_provider_name()
        configs = sorted(self.store.providers(), key=lambda c: c.name != default)
        host = next((c.options.get("host") for c in configs if c.type == "docker"), None)
        return DockerEndpoint(str(host) if host else current_context_host())

    @staticmethod
    def _source_text(ws: Workspace) -> str:
        return "an empty folder" if ws.source.kind == "image" else ws.source.display()

    def write_ssh_config(self) -> None:
        """Rewrite podbay's ssh_config and known_hosts from the workspace records."""
        ssh_setup.write_ssh_config(self.store)

    async def _after_failure(self, ws: Workspace, attempt: Attempt, exc: BaseException) -> None:
        """A failed `up` leaves its workspace in Error, with the message, to be inspected (its
        log), retried or deleted; an interrupted one leaves it Incomplete. Only a new workspace
        the user refused to allow is forgotten, with the folder this `up` made for it."""
        if not isinstance(exc, Exception):
            return  # interrupted (Ctrl-C, cancel): leave the record for the next `up` to repair
        # A machine podbay may have asked for (a launch whose answer was lost included) keeps
        # the record: the next `up` finds it by its tags and ClientToken, `delete` removes it.
        refused = isinstance(exc, consent.ConsentNeeded)
        if attempt.created_record and refused and ws.container_id is None and not ws.machine.own:
            self.store.remove_workspace(ws.name)
            if attempt.made_folder:
                await asyncio.to_thread(shutil.rmtree, ws.folder, True)
            shutil.rmtree(ssh_keys.of(self.store.root, ws.name).folder, ignore_errors=True)
            return  # its log stays: `podbay logs NAME` still shows what was refused
        ws.phase = "failed"
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        ws.error = exc.message if isinstance(exc, PodbayError) else first
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
        report.begin(operation, self.origin)
        holder = f"{operation} (from the {self.origin})"
        async with self.store.lock(
            name, holder, lambda h: report.step(f"waiting for {h} to finish")
        ):
            # Read under the lock: an operation that waited acts on what is there now.
            ws = self.store.workspace(name)
            try:
                yield ws, self.provider(ws.provider), self._job(ws, report)
            except Exception as exc:
                report.failed(exc)
                raise

    async def stop(self, name: str, on_event: EventSink | None = None) -> Workspace:
        """Stop the container; a workspace's own machine is stopped with it (disk kept)."""
        async with self._operation(name, "stop", on_event) as (ws, provider, job):
            await teardown.stop(self.store, ws, provider, job)
        return ws

    async def sync(
        self, name: str, force: bool = False, on_event: EventSink | None = None
    ) -> copies.Synced:
        """Bring what changed in the workspace's copy on its machine back to the folder here
        (core/sync.py); a file changed on both sides stops it unless `force`."""
        async with self._operation(name, "sync", on_event) as (ws, provider, job):
            if not copies.is_copy(ws) or not ws.machine:
                raise PodbayError(
                    f"workspace {name} uses {ws.folder} where it is: nothing to sync",
                    "podbay sync is for a folder of this computer copied to a machine",
                )
            async with open_host(provider, job) as host:
                synced = await copies.sync(host, ws, force)
            self.store.save_workspace(ws)
            job.report.done(
                f"brought back {len(synced.brought)} file(s) from the machine"
                + (f": {copies.names(synced.brought)}" if synced.brought else "")
                + (
                    f"; these replaced your changes here: {copies.names(synced.overwritten)}"
                    if synced.overwritten
                    else ""
                )
            )
        return synced

    async def watch(
        self,
        name: str,
        on_event: EventSink | None = None,
        interval: float = 2.0,
        rounds: int | None = None,
    ) -> copies.Synced:
        """Sync both ways every `interval` seconds until interrupted (or `rounds` are done):
        the machine's changes come back, this folder's go there; a file changed on both sides
        stops it (core/sync.py). One connection throughout; the workspace is locked for each
        round only, so other commands go on meanwhile."""
        ws = self.store.workspace(name)
        if not copies.is_copy(ws) or not ws.machine:
            raise PodbayError(
                f"workspace {name} uses {ws.folder} where it is: nothing to sync",
                "podbay sync is for a folder of this computer copied to a machine",
            )
        report = Reporter(self.store.root, name, on_event)
        report.begin("sync --watch", self.origin)
        job = self._job(ws, report)
        total = copies.Synced()
        report.step(f"syncing {ws.source.value} and the machine's copy both ways; Ctrl-C stops")
        # Ctrl-C ends the watch between rounds, never inside one (its marks would not match
        # what was placed, and the next sync would see conflicts that are not).
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            async with open_host(self.provider(ws.provider), job) as host:
                while (rounds is None or rounds > 0) and not stop.is_set():
                    async with self.store.lock(name, "sync --watch", lambda h: None):
                        ws = self.store.workspace(name)
                        one = await copies.sync(host, ws, False, both_ways=True)
                        self.store.save_workspace(ws)
                    self._said_round(report, one)
                    for part in ("brought", "sent", "raced", "refused"):
                        getattr(total, part).extend(getattr(one, part))
                    rounds = None if rounds is None else rounds - 1
                    if rounds != 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), interval)
        except Exception as exc:
            report.failed(exc)
            raise
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
        if stop.is_set():
            report.step("sync stopped")
        return total

    @staticmethod
    def _said_round(report: Reporter, one: copies.Synced) -> None:
        """A watch round's files, one line each (names from the machine: escaped)."""
        for item in one.brought:
            report.log(f"<- {shown(item)} (from the machine)")
        for item in one.sent:
            report.log(f"-> {shown(item)} (to the machine)")
        for item in one.raced:
            report.warn(f"{shown(item)} changed on both sides while syncing: left as it is")
        for item in one.refused:
            report.warn(f"{shown(item)} is a link or outside the copy on the machine: not sent")

    async def work_at_risk(self, name: str) -> tuple[list[str], list[str]]:
        """What `delete` would lose: (work in podbay's copy of the source: uncommitted,
        untracked, unpushed, stashed; other things: the container's anonymous volumes)."""
        ws = self.store.workspace(name)
        provider = self.provider(ws.provider)
        job = self._job(ws, Reporter(self.store.root, name, None))
        return await teardown.work_at_risk(self.store, ws, provider, job)

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
            await teardown.delete(self.store, ws, provider, job, force)
        # The lock file stays: a process waiting on it holds it open, and a new file would let
        # a newcomer take a second lock beside it.
        oplog.path(paths.logs_dir(self.store.root), name).unlink(missing_ok=True)
        used.forget(str(self.store.root), name)
        ide.choose(self.store, name, None)
        # Its own settings go with it: a new workspace of that name starts without them.
        secrets_store.remove_workspace(self.store, name)
        self.store.set_meta(f"{git_credentials.KEY}:{name}", "[]")
        return ws

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
        return await self._poller.poll(drift)

    async def drift(self, name: str) -> list[str]:
        """What changed in a workspace's config since its container was made, asked now."""
        return await self._poller.machine_drift(self.store.workspace(name))

    async def status(self, name: str) -> WorkspaceStatus:
        """One workspace's status; a running one also says what changed in its config since
        its container was made, read where it runs (over SSH for a machine of its own)."""
        ws = self.store.workspace(name)
        found = next(s for s in await self.status_all() if s.workspace.name == ws.name)
        if found.status == Status.RUNNING and ws.phase == "ready":
            # Drift is a hint: a machine that does not answer does not stop `status`.
            with contextlib.suppress(PodbayError, OSError, TimeoutError):
                found.changed = await asyncio.wait_for(self.drift(name), 30)
        return found

    # logs ----------------------------------------------------------------------------------

    def log_file(self, name: str) -> Path:
        """The workspace's log; also that of a first `up` that failed (its record is gone)."""
        path = oplog.path(paths.logs_dir(self.store.root), name)
        if self.store.find_workspace(name) is None and not (
            WORKSPACE_NAME.fullmatch(name) and path.is_file()
        ):
            self.store.workspace(name)  # the usual "no workspace named" error
        return path


def _made_nothing(ws: Workspace) -> bool:
    """Nothing of the workspace exists but its record: no container, no machine asked for,
    no folder of podbay's own (a clone, a template) with possible work in it."""
    on_machine = bool(ws.machine) and not ws.machine.own  # (its folder is there, unchecked)
    return (
        ws.container_id is None
        and not ws.machine.own
        and not (ws.owned_folder and (on_machine or os.path.exists(ws.folder)))
    )
