"""PURE: turn a devcontainer config and where it lives into a plan the engine carries out.

No Docker, no files: a test can build a plan and compare it. Two steps, because what the base
image says about itself (its `devcontainer.metadata` label, its user) is only known once it is
pulled or built:

1. `resolve(raw, ctx)`: substitution passes 1 (host values) and 2 (`${devcontainerId}`), where the
   base image comes from (an image, or a Dockerfile build), the features asked for, and the
   fingerprint used to notice a changed config.
2. `make_plan(resolved, base, features, ctx)`: merge the metadata of the base image, the features
   and the config; the generated image on top of the base (features, UID update); the container.

Pass 3 (`${containerEnv:X}`) needs the container and happens through `resolve_container_env`.

The parts of step 2 live beside this module: `feature_image` (the generated Dockerfile),
`run_args` (the `docker create` arguments) and `compose_service` (the compose override);
`host_requirements` checks a plan's hostRequirements against the engine's machine.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel

from podbay.core.devcontainer import feature_image, ids, metadata, run_args
from podbay.core.devcontainer.config import Command, DevContainerConfig
from podbay.core.devcontainer.feature_image import Extension
from podbay.core.devcontainer.features import FeatureJson
from podbay.core.devcontainer.metadata import HookCommand, Merged
from podbay.core.devcontainer.substitute import (
    Resolver,
    container_resolver,
    id_resolver,
    local_resolver,
    substitute,
)
from podbay.core.devcontainer.values import check_image, check_user
from podbay.core.errors import ConfigError

LARGE_LABEL = 32 * 1024  # larger labels are set by a Dockerfile, not an argument

ONCE_HOOKS = ("onCreateCommand", "updateContentCommand", "postCreateCommand")
IN_CONTAINER_HOOKS = (*ONCE_HOOKS, "postStartCommand", "postAttachCommand")

LABEL_FINGERPRINT = "dev.podbay.fingerprint"  # JSON {part: hash} of what the container came from


class PlanContext(BaseModel):
    name: str
    local_folder: str  # the source folder on the machine
    config_file: str | None  # None when the config is synthesised from --image
    container_name: str
    labels: dict[str, str]  # podbay's own labels
    env: dict[str, str]  # the host environment for ${localEnv:X}
    image_name: str = ""  # repository for images podbay builds for this workspace
    source_owner: tuple[int, int] | None = None  # uid, gid of the source (Linux machines)
    gpu_available: bool = False
    # The default mount, as the reference CLI makes it: `mount_folder` (the folder, or the git
    # repository it is in) at /workspaces/FOLDER_NAME, the workspace folder FOLDER_REL below.
    # folder_name "" is a workspace made before podbay kept the folder's own name: NAME.
    folder_name: str = ""
    folder_rel: str = ""
    mount_folder: str = ""  # "": local_folder

    @property
    def mount_target(self) -> str:
        return f"/workspaces/{self.folder_name or self.name}"

    @property
    def default_folder(self) -> str:
        return posixpath.join(self.mount_target, self.folder_rel).rstrip("/")

    @property
    def basename(self) -> str:
        """`${localWorkspaceFolderBasename}`: the folder's name as the user knows it."""
        if not self.folder_name:
            return PurePosixPath(self.local_folder).name
        return PurePosixPath(self.default_folder).name

    def resolver(self, container_folder: str | None) -> Resolver:
        """Pass 1's variables of this workspace."""
        return local_resolver(self.env, self.local_folder, container_folder, self.basename)


class DockerfileBuild(BaseModel):
    """The user's Dockerfile: paths relative to the folder of devcontainer.json."""

    dockerfile: str
    context: str
    args: dict[str, str] = {}
    target: str | None = None
    cache_from: list[str] = []
    options: list[str] = []
    tag: str

    def argv(self, labels: Mapping[str, str]) -> list[str]:
        """`docker build` arguments, run in the config's folder."""
        argv = ["build", "-f", self.dockerfile, "-t", self.tag]
        for key, value in self.args.items():
            argv += ["--build-arg", f"{key}={value}"]
        if self.target:
            argv += ["--target", self.target]
        for image in self.cache_from:
            argv += ["--cache-from", image]
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        return [*argv, *self.options, self.context]


class ComposeRef(BaseModel):
    """A Docker Compose config: its files (relative to the config's folder), the service that is
    the dev container, and the services to start (None: all of them)."""

    files: list[str]
    service: str
    run_services: list[str] | None = None


class Resolved(BaseModel):
    """A config after passes 1 and 2, with what the base image and features are."""

    raw: dict[str, Any]  # as written (the metadata label keeps raw values)
    config: DevContainerConfig
    workspace_folder: str
    devcontainer_id: str
    id_labels: dict[str, str]
    image: str | None  # the base image of an image config
    build: DockerfileBuild | None
    compose: ComposeRef | None
    features: dict[str, Any]  # feature key -> options, as written (values substituted)
    fingerprint: dict[str, str]  # part -> short hash; files are added by the engine


class BaseImage(BaseModel):
    """What the engine learned about the base image (pulled or built)."""

    name: str
    user: str = ""  # Config.User; "" means root
    entrypoint: list[str] = []
    cmd: list[str] = []
    metadata: list[dict[str, Any]] = []


class Feature(BaseModel):
    """A fetched feature, ready to install: its files are in `folder` on this computer."""

    key: str  # as written in devcontainer.json (or a dependency's ref)
    folder: str
    manifest: FeatureJson
    options: dict[str, str | bool]
    digest: str  # of its content, for the lockfile and the fingerprint


class HostRequests(BaseModel):
    """What the container asks of the host, as written (core.consent judges it)."""

    run_args: list[str] = []
    mounts: list[str] = []  # every --mount spec, the workspace's own included
    privileged: bool = False
    cap_add: list[str] = []
    security_opt: list[str] = []


class Plan(BaseModel):
    image: str  # the image the container is created from
    base: str  # the pulled or built base image
    extension: Extension | None
    create_args: list[str]  # everything after `docker create`
    compose_service: dict[str, Any] | None = None  # the dev service's override, for compose
    workspace_folder: str
    container_user: str | None
    remote_user: str
    remote_env: dict[str, str | None]
    hooks: dict[str, list[HookCommand]]  # in-container lifecycle hooks, in spec order
    initialize_command: Command | None
    wait_for: str
    user_env_probe: str
    config_hash: str
    devcontainer_id: str
    id_labels: dict[str, str]
    forward_ports: list[int | str]
    vscode_extensions: list[str]
    host_requirements: dict[str, Any] | None
    warnings: list[str] = []
    requests: HostRequests = HostRequests()


# Step 1 ----------------------------------------------------------------------------------------


def resolve(raw: Mapping[str, Any], ctx: PlanContext) -> Resolved:
    """Passes 1 and 2, the base image, and the config's fingerprint."""
    id_labels = {"devcontainer.local_folder": ctx.local_folder}
    if ctx.config_file:
        id_labels["devcontainer.config_file"] = ctx.config_file
    devcontainer_id = ids.devcontainer_id(id_labels)

    # Pass 1 twice: workspaceFolder may itself use host variables, and everything else may use
    # ${containerWorkspaceFolder}. Then pass 2.
    first = ctx.resolver(None)
    folder_raw = raw.get("workspaceFolder")
    default_folder = "/" if raw.get("dockerComposeFile") else ctx.default_folder
    workspace_folder = (
        str(substitute(folder_raw, first)) if isinstance(folder_raw, str) and folder_raw else ""
    ) or default_folder
    resolved = substitute(dict(raw), ctx.resolver(workspace_folder))
    resolved = substitute(resolved, id_resolver(devcontainer_id))
    config = DevContainerConfig.model_validate(resolved)
    build, compose = _base_source(config, ctx)
    return Resolved(
        raw=dict(raw),
        config=config,
        workspace_folder=workspace_folder,
        devcontainer_id=devcontainer_id,
        id_labels=id_labels,
        image=None if build or compose else config.image,
        build=build,
        compose=compose,
        features=dict(config.features or {}),
        fingerprint={key: _short_hash(value) for key, value in sorted(resolved.items())},
    )


def _base_source(
    config: DevContainerConfig, ctx: PlanContext
) -> tuple[DockerfileBuild | None, ComposeRef | None]:
    """Where the base image comes from: a Dockerfile build, a compose service, or (neither)
    the config's image, which must then be named."""
    build: DockerfileBuild | None = None
    compose: ComposeRef | None = None
    dockerfile = (config.build.dockerfile if config.build else None) or config.dockerFile
    if config.dockerComposeFile:
        if not config.service:
            raise ConfigError(
                f"{ctx.config_file or 'the config'} has dockerComposeFile but no service",
                'add "service": "NAME", the compose service to work in',
            )
        files = config.dockerComposeFile
        compose = ComposeRef(
            files=[files] if isinstance(files, str) else list(files),
            service=config.service,
            run_services=config.runServices,
        )
    elif dockerfile:
        options = config.build or None
        cache_from = options.cacheFrom if options else None
        build = DockerfileBuild(
            dockerfile=dockerfile,
            context=(options.context if options else None) or config.context or ".",
            args=dict(options.args or {}) if options else {},
            target=options.target if options else None,
            cache_from=[cache_from] if isinstance(cache_from, str) else list(cache_from or []),
            options=list(options.options or []) if options else [],
            tag=f"{ctx.image_name}:build",
        )
    elif not config.image:
        raise ConfigError(
            f"{ctx.config_file or 'the config'} names no image and no Dockerfile",
            'add "image": "NAME:TAG", or "build": {"dockerfile": "Dockerfile"}',
        )
    else:
        check_image(config.image, "image")
    return build, compose


def config_hash(fingerprint: dict[str, Any]) -> str:
    """The `dev.podbay.config_hash` label of a container made from this fingerprint."""
    return _short_hash(fingerprint)


def _short_hash(value: Any) -> str:
    data = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:12]


def file_hash(data: bytes) -> str:
    """A file's fingerprint entry (the Dockerfile, the lockfile)."""
    return _short_hash(data)


def changed_parts(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Names of the parts that differ, for "devcontainer.json changed: ..."."""
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


# Step 2 ----------------------------------------------------------------------------------------


def _entry_resolver(resolved: Resolved, ctx: PlanContext) -> Any:
    """Passes 1 and 2 for metadata entries (a prebuilt image's label may use them too)."""

    def apply(entry: dict[str, Any]) -> dict[str, Any]:
        first = ctx.resolver(resolved.workspace_folder)
        result: dict[str, Any] = substitute(
            substitute(entry, first), id_resolver(resolved.devcontainer_id)
        )
        return result

    return apply


def config_entry(resolved: Resolved) -> dict[str, Any]:
    return metadata.pick(resolved.raw, metadata.CONFIG_KEYS)


def feature_entry(feature: Feature) -> dict[str, Any]:
    data = feature.manifest.model_dump(exclude_none=True)
    return {"id": feature.key, **metadata.pick(data, metadata.FEATURE_KEYS)}


def make_plan(
    resolved: Resolved, base: BaseImage, features: list[Feature], ctx: PlanContext
) -> Plan:
    """The plan for a new container from `base`, with `features` installed in this order."""
    raw_entries = [*base.metadata, *(feature_entry(f) for f in features), config_entry(resolved)]
    from_image = [{metadata.ORIGIN: "the image", **e} for e in base.metadata]
    entries = [*from_image, *raw_entries[len(base.metadata) :]]
    merged = metadata.merge([_entry_resolver(resolved, ctx)(e) for e in entries])
    image_user = check_user(base.user, "the image's user", base.name) if base.user else "root"
    container_user = merged.containerUser or image_user
    remote_user = merged.remoteUser or container_user

    stages = [
        feature_image.feature_stage(i, f, remote_user, container_user)
        for i, f in enumerate(features)
    ]
    uid_line = feature_image.uid_step(merged, remote_user, ctx.source_owner)
    labels = {
        **ctx.labels,
        metadata.LABEL: metadata.label_value(raw_entries),
    }
    warnings: list[str] = []
    if len(labels[metadata.LABEL]) > LARGE_LABEL:
        # One argument holds at most 128 KiB (Linux), a Dockerfile line or a label file line
        # 64 KiB: a config this large keeps its customizations out of the label. VS Code reads
        # them from there when it attaches; podbay has them from the config itself.
        raw_entries[-1] = {k: v for k, v in raw_entries[-1].items() if k != "customizations"}
        labels[metadata.LABEL] = metadata.label_value(raw_entries)
        if len(labels[metadata.LABEL]) > LARGE_LABEL:
            raise ConfigError(
                f"devcontainer.json is too large to label its container "
                f"({len(labels[metadata.LABEL]) // 1024} KiB without its customizations)",
                "make it smaller; labels hold at most 32 KiB here",
            )
        warnings.append(
            "devcontainer.json's customizations are too large for the container's "
            f"{metadata.LABEL} label and were left out of it (tools that read the label, "
            "like VS Code when it attaches, do not see them)"
        )
    extension = None
    if stages or uid_line:
        extension = Extension(
            tag=f"{ctx.image_name}:dev",
            dockerfile=feature_image.dockerfile(base.name, image_user, features, stages, uid_line),
            stages=stages,
            labels=labels,
            updates_uid=uid_line is not None,
        )
    image = extension.tag if extension else base.name
    # Nothing built: the metadata goes on the container itself.
    extra = {} if extension else {metadata.LABEL: labels[metadata.LABEL]}
    plan = _container_plan(resolved, merged, ctx, image, base, remote_user, extra)
    return plan.model_copy(update={"extension": extension, "warnings": warnings + plan.warnings})


def prebuild_extension(
    plan: Plan, base: BaseImage, features: list[Feature], tag: str, labels: Mapping[str, str]
) -> Extension:
    """The image a prebuild is: the plan's features on its base, without the uid step (planned
    without a source owner), labelled with the base's and the features' metadata but not the
    config's own entry, which each `up` adds from the config it reads."""
    assert plan.extension is None or not plan.extension.updates_uid
    stages = plan.extension.stages if plan.extension else []
    image_user = base.user or "root"
    entries = [*base.metadata, *(feature_entry(f) for f in features)]
    return Extension(
        tag=tag,
        dockerfile=feature_image.dockerfile(base.name, image_user, features, stages, None),
        stages=stages,
        labels={**labels, metadata.LABEL: metadata.label_value(entries)},
    )


def plan_for_existing(
    resolved: Resolved, labels: Mapping[str, str], image_user: str, ctx: PlanContext
) -> Plan:
    """The plan for a container that exists: its own metadata label (what it was made from)
    plus today's remoteUser, remoteEnv and userEnvProbe, as the reference CLI reads them."""
    entries, _ = metadata.parse_label(labels.get(metadata.LABEL))
    fresh = metadata.pick(resolved.raw, ("remoteUser", "remoteEnv", "userEnvProbe"))
    merged = metadata.merge([_entry_resolver(resolved, ctx)(e) for e in [*entries, fresh]])
    if image_user:
        check_user(image_user, "the container's user", ctx.container_name)
    container_user = merged.containerUser or image_user or "root"
    remote_user = merged.remoteUser or container_user
    base = BaseImage(name=labels.get("dev.podbay.image", ""))
    plan = _container_plan(resolved, merged, ctx, base.name, base, remote_user)
    plan.config_hash = labels.get("dev.podbay.config_hash", "")
    return plan


def _container_plan(
    resolved: Resolved,
    merged: Merged,
    ctx: PlanContext,
    image: str,
    base: BaseImage,
    remote_user: str,
    extra_labels: Mapping[str, str] | None = None,
) -> Plan:
    """The plan of a container of `image`, made from `resolved` with the `merged` metadata;
    make_plan adds the extension and its own warnings."""
    config = resolved.config
    fingerprint = json.dumps(resolved.fingerprint, sort_keys=True, separators=(",", ":"))
    config_hash = _short_hash(resolved.fingerprint)
    labels = {
        **ctx.labels,
        **resolved.id_labels,
        LABEL_FINGERPRINT: fingerprint,
        "dev.podbay.config_hash": config_hash,
        "dev.podbay.image": image,
        **(extra_labels or {}),
    }
    container = run_args.create_args(
        config, merged, ctx, image, base, labels, compose=resolved.compose is not None
    )
    return Plan(
        image=image,
        base=base.name,
        extension=None,
        create_args=container.args,
        compose_service=container.compose_service,
        workspace_folder=resolved.workspace_folder,
        container_user=merged.containerUser,
        remote_user=remote_user,
        remote_env=dict(merged.remoteEnv),
        hooks={h: merged.hooks[h] for h in IN_CONTAINER_HOOKS if h in merged.hooks},
        initialize_command=config.initializeCommand or None,
        wait_for=merged.waitFor or "updateContentCommand",
        user_env_probe=merged.userEnvProbe or "loginInteractiveShell",
        config_hash=config_hash,
        devcontainer_id=resolved.devcontainer_id,
        id_labels=resolved.id_labels,
        forward_ports=merged.forwardPorts,
        vscode_extensions=_vscode_extensions(merged.customizations.get("vscode", [])),
        host_requirements=merged.hostRequirements,
        warnings=container.warnings,
        requests=HostRequests(
            run_args=list(config.runArgs or []),
            mounts=container.mounts,
            privileged=merged.privileged,
            cap_add=list(merged.capAdd),
            security_opt=list(merged.securityOpt),
        ),
    )


# Helpers ---------------------------------------------------------------------------------------


def _vscode_extensions(items: list[Any]) -> list[str]:
    result: list[str] = []
    for vscode in items:
        extensions = vscode.get("extensions") if isinstance(vscode, dict) else None
        for ext in extensions if isinstance(extensions, list) else []:
            if isinstance(ext, str) and ext and not ext.startswith("-") and ext not in result:
                result.append(ext)
    return result


def resolve_container_env(plan: Plan, container_env: Mapping[str, str]) -> Plan:
    """Pass 3: `${containerEnv:X}` in remoteEnv and hooks, once the container exists."""
    resolver = container_resolver(container_env)
    hooks = {
        name: [c.model_copy(update={"command": substitute(c.command, resolver)}) for c in cmds]
        for name, cmds in plan.hooks.items()
    }
    return plan.model_copy(
        update={"remote_env": substitute(plan.remote_env, resolver), "hooks": hooks}
    )


def hook_argvs(command: Command) -> list[tuple[str | None, list[str]]]:
    """A lifecycle command as argv lists: string -> sh -c, array -> as is, object -> each."""
    if isinstance(command, str):
        return [(None, ["/bin/sh", "-c", command])] if command.strip() else []
    if isinstance(command, list):
        return [(None, [str(a) for a in command])] if command else []
    if isinstance(command, dict):
        result: list[tuple[str | None, list[str]]] = []
        for name, part in command.items():
            result += [(name, argv) for _, argv in hook_argvs(part)]
        return result
    return []


def container_name(name: str, install_id: str) -> str:
    return f"podbay-{name}-{install_id[:6]}"


def basename(path: str) -> str:
    return PurePosixPath(path).name
