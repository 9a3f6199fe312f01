"""The image a new container is made from: the base (pulled, built from the user's Dockerfile,
or a compose service's), the features fetched and ordered, and podbay's image on top; plus the
fingerprint of the files they came from."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podbay.core import build, features_fetch, paths, prebuild, registry_access
from podbay.core.compose import LABEL_PART_OF, Compose, project_name
from podbay.core.devcontainer import host_requirements
from podbay.core.devcontainer import metadata as dcmetadata
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.metadata import LABEL as LABEL_METADATA
from podbay.core.devcontainer.plan import BaseImage, Feature, Plan, PlanContext, Resolved
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import ConfigError, ImageNotFound, ProviderError
from podbay.core.features_fetch import FeatureSource, tree_digest
from podbay.core.host import HostSession
from podbay.core.model import Workspace
from podbay.core.registry import Registry
from podbay.core.reporter import Reporter


def image_name(workspace: str, install_id: str) -> str:
    """The repository of the images podbay builds for a workspace (tags: build, dev)."""
    return f"podbay-{workspace}-{install_id[:6]}"


@dataclass
class UpJob:
    """What `up` knows about one workspace once its config is read."""

    ws: Workspace
    host: HostSession
    resolved: Resolved
    ctx: PlanContext
    config_root: Path  # the source folder, or a copy of its devcontainer files read here
    local_dir: Path  # the config's folder under config_root
    report: Reporter
    root: Path  # podbay's home: builds and the feature cache live there
    env: dict[str, str]
    compose: Compose | None = None  # for a Docker Compose config
    compose_services: list[str] = field(default_factory=list)  # all services of its files
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # for the hooks' env
    # A registry's credentials for a build on the workspace's own machine (core/registry_access).
    registry_login: registry_access.Lookup | None = None
    # The provider's own (an ECR registry of its account), for a pull to its machine.
    provider_login: registry_access.Lookup | None = None
    prebuilds: str | None = None  # a repository to look for this config's prebuild in
    making: Making | None = None  # `podbay prebuild`: this image is the prebuild


@dataclass
class Making:
    """The prebuild being made (core/prebuild_push.py): its REPO:TAG and labels."""

    image: str
    labels: dict[str, str]


def file_parts(resolved: Resolved, config_dir: Path, config_file: Path | None) -> dict[str, str]:
    """Fingerprints of the files a container is made from: the Dockerfile, local features and
    the feature lockfile (files the Dockerfile copies are not looked at; --rebuild takes them)."""
    parts: dict[str, str] = {}
    if resolved.build is not None:
        dockerfile = config_dir / resolved.build.dockerfile
        if dockerfile.is_file():
            parts["Dockerfile"] = dcplan.file_hash(dockerfile.read_bytes())
    for name in resolved.compose.files if resolved.compose else []:
        compose_file = config_dir / name
        if compose_file.is_file():
            parts[f"compose {name}"] = dcplan.file_hash(compose_file.read_bytes())
    for key in resolved.features:
        folder = config_dir / key
        if key.startswith(("./", "../")) and folder.is_dir():
            parts[f"feature {key}"] = tree_digest(folder).removeprefix("sha256:")[:12]
    if config_file is not None:
        lockfile = features_fetch.lockfile_path(config_dir / config_file.name)
        if lockfile.is_file():
            parts[lockfile.name] = dcplan.file_hash(lockfile.read_bytes())
    return parts


def _lockfile(job: UpJob) -> Path | None:
    """The config's lockfile as read here (the copy read here for a VM's workspace)."""
    if job.ws.config_path is None:
        return None
    return features_fetch.lockfile_path(job.local_dir / Path(job.ws.config_path).name)


async def prepare_image(job: UpJob) -> Plan:
    """Pull or build the base image, fetch features, build the image on top if needed."""
    # The engine's facts (GPU runtime, CPUs, memory) matter only for hostRequirements; asked
    # (about 15 ms of the engine's time) alongside the image's steps when the config has them.
    engine_info = None
    if job.resolved.config.hostRequirements:
        engine_info = asyncio.ensure_future(asyncio.to_thread(job.host.docker.info))
    try:
        return await _prepare_image(job, engine_info)
    finally:
        if engine_info is not None and not engine_info.done():
            engine_info.cancel()
        elif engine_info is not None and not engine_info.cancelled():
            engine_info.exception()  # retrieved: an error was already raised or not needed


async def _prepare_image(job: UpJob, engine_info: asyncio.Future[dict[str, Any]] | None) -> Plan:
    ws, host, resolved, report = job.ws, job.host, job.resolved, job.report
    docker = host.docker
    prebuilt = None
    if job.prebuilds and resolved.compose is None and job.making is None:
        login = job.provider_login if not host.local else None
        prebuilt = await prebuild.find(docker, job.prebuilds, resolved, report, login)
    if prebuilt is not None:
        base_name = prebuilt.image  # the features are in it
    elif resolved.compose is not None:
        base_name = await _compose_base(job)
    elif resolved.build is not None:
        machine_dir = str(Path(ws.config_path).parent) if ws.config_path else ws.folder
        registries: list[str] = []
        if not host.local and job.registry_login is not None:
            # (read from the copy of the config's files here: a Dockerfile outside them, as
            # "../Dockerfile", is not there, and its FROM lines go without a lent login)
            try:
                dockerfile = (job.local_dir / resolved.build.dockerfile).read_text(errors="replace")
            except OSError:
                dockerfile = ""
            registries = registry_access.from_registries(dockerfile, resolved.build.args)
        await build.build_dockerfile(
            host, resolved.build, machine_dir, job.ctx.labels, report,
            registries, job.registry_login,
        )  # fmt: skip
        base_name = resolved.build.tag
    else:
        assert resolved.image is not None
        login = job.provider_login if not host.local else None
        await ensure_image(docker, resolved.image, report, login)
        base_name = resolved.image
    info = await asyncio.to_thread(docker.inspect_image, base_name)
    if info is None:
        raise ImageNotFound(f"image {base_name} vanished after it was made", "run up again")
    config = info.get("Config") or {}
    entries, warning = dcmetadata.parse_label((config.get("Labels") or {}).get(LABEL_METADATA))
    if warning:
        report.warn(warning)
    base = BaseImage(
        name=base_name,
        user=str(config.get("User") or ""),
        entrypoint=list(config.get("Entrypoint") or []),
        cmd=list(config.get("Cmd") or []),
        metadata=entries,
    )
    features = await _features(job) if resolved.features and prebuilt is None else []
    # A prebuild is for everyone: no uid step (made by each `up` on top of it).
    owner = None if job.making is not None else await _source_owner(ws, host)
    ctx = job.ctx.model_copy(update={"source_owner": owner})
    plan = dcplan.make_plan(resolved, base, features, ctx)
    if plan.host_requirements:
        # From the config, the image's metadata or a feature.
        engine = await (engine_info or asyncio.to_thread(docker.info))
        if "nvidia" in (engine.get("Runtimes") or {}):
            ctx = ctx.model_copy(update={"gpu_available": True})
            plan = dcplan.make_plan(resolved, base, features, ctx)
        _check_machine(job, plan, engine)
    if job.making is not None:
        extension = dcplan.prebuild_extension(
            plan, base, features, job.making.image, job.making.labels
        )
        plan = plan.model_copy(update={"extension": extension})
    if plan.extension is not None:
        folder = paths.builds_dir(job.root) / (ws.name if job.making is None else "_prebuild")
        await build.build_extension(docker, plan.extension, folder, report)
    return plan


def _check_machine(job: UpJob, plan: Plan, engine: dict[str, Any]) -> None:
    """Warnings for the hostRequirements the engine's machine falls short of."""
    free = None
    root = str(engine.get("DockerRootDir") or "")
    if job.host.local and root and Path(root).is_dir():
        free = shutil.disk_usage(root).free
    machine = host_requirements.Machine(
        cpus=int(engine.get("NCPU") or 0), memory=int(engine.get("MemTotal") or 0), free=free
    )
    plan.warnings += host_requirements.host_shortfalls(plan.host_requirements, machine)


async def _compose_base(job: UpJob) -> str:
    """The dev service's image: built by compose (as podbay's tag) or pulled."""
    assert job.resolved.compose is not None and job.ws.config_path is not None
    compose = Compose(
        job.host,
        job.host.docker,
        job.resolved.compose,
        str(Path(job.ws.config_path).parent),
        project_name(job.ctx.image_name),
        job.report,
    )
    await compose.check()
    service, job.compose_services = await compose.service()
    job.compose = compose
    if service.get("build"):
        tag = f"{job.ctx.image_name}:build"
        await compose.build(tag, job.ctx.labels, paths.builds_dir(job.root) / job.ws.name)
        return tag
    image = service.get("image")
    if not isinstance(image, str) or not image:
        raise ConfigError(
            f"compose service {compose.ref.service!r} has neither image nor build",
            "give the service an image: or a build: section",
        )
    await ensure_image(job.host.docker, image, job.report)
    return image


async def compose_up(job: UpJob, dev_service: dict[str, Any]) -> str:
    """Create and start the compose project; the id of the dev service's container."""
    assert job.compose is not None
    others = [s for s in job.compose_services if s != job.compose.ref.service]
    dev_service["labels"][LABEL_PART_OF] = job.compose.project
    folder = paths.builds_dir(job.root) / job.ws.name
    await job.compose.up(dev_service, others, folder)
    found = await asyncio.to_thread(job.host.docker.list_containers, dict(job.ctx.labels))
    container = found[0] if found else None
    if container is None:
        raise ProviderError(
            f"docker compose did not create the container of service {job.compose.ref.service}",
            f"see: podbay logs {job.ws.name}",
        )
    return str(container["Id"])


async def _features(job: UpJob) -> list[Feature]:
    """The config's features in install order; downloads are pinned in the lockfile."""
    report = job.report
    report.step("reading features")
    lock_path = _lockfile(job)
    locked = features_fetch.read_lockfile(lock_path) if lock_path else {}
    downloads = features_fetch.Downloads(
        paths.features_cache(job.root),
        locked,
        report.warn_threadsafe,
        lambda: Registry(job.env),
    )
    source = FeatureSource(job.local_dir, job.config_root, report.warn_threadsafe, downloads)
    features = await asyncio.to_thread(
        features_fetch.resolve,
        job.resolved.features,
        job.resolved.config.overrideFeatureInstallOrder or [],
        source,
    )
    # Written where the config is, on its machine (not into a copy read here), when it says
    # something new; the reference CLI writes the same file.
    text = features_fetch.render_lockfile(downloads.entries)
    # (Not by a prebuild: its fingerprint is of the files as they were, as `up` reads them.)
    wanted = job.making is None and (
        downloads.entries or (lock_path is not None and lock_path.exists())
    )
    if lock_path is not None and job.ws.config_path is not None and wanted:
        if text != features_fetch.render_lockfile(locked) or not lock_path.exists():
            real = features_fetch.lockfile_path(Path(job.ws.config_path))
            await job.host.write_bytes(str(real), text.encode())
            report.log(f"wrote {lock_path.name} (the features' exact versions)")
        job.resolved.fingerprint[lock_path.name] = dcplan.file_hash(text.encode())
    return features


async def _source_owner(ws: Workspace, host: HostSession) -> tuple[int, int] | None:
    """uid and gid owning the source where the container runs (Linux machines only)."""
    if host.local:
        if not sys.platform.startswith("linux"):
            return None
        stat = await asyncio.to_thread(os.stat, ws.folder)
        return stat.st_uid, stat.st_gid
    result = await host.run(["stat", "-c", "%u:%g", ws.folder])
    uid, _, gid = result.stdout.strip().partition(":")
    return (int(uid), int(gid)) if uid.isdigit() and gid.isdigit() else None


async def ensure_image(
    docker: DockerEndpoint,
    image: str,
    report: Reporter,
    login: registry_access.Lookup | None = None,
) -> None:
    """Pull `image` unless the engine has it. `login` (the provider's, for an engine on its
    machine) answers for the registries it knows (an ECR registry of its account), carried by
    the pull request only; any other registry gets this computer's docker login from the
    docker SDK, as the docker CLI would."""
    if await asyncio.to_thread(docker.inspect_image, image) is not None:
        return
    report.step(f"pulling {image}")
    registry = registry_access.registry_of(image)
    found = await login(registry) if login is not None else None

    def progress(done: int, total: int, status: str) -> None:
        report.progress_threadsafe(f"pulling {image}: {status}", done, total)

    report.bind_loop()
    if found is not None:
        try:
            await asyncio.to_thread(docker.pull, image, progress, found)
        except ImageNotFound as exc:
            raise ImageNotFound(
                f"{exc.message} (with the provider's login for {registry})",
                "the provider's credentials may not pull it (ecr:BatchGetImage; see podbay "
                "provider policy NAME)",
            ) from None
        return
    await asyncio.to_thread(docker.pull, image, progress)
