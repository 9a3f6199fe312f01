"""PURE: the container's `docker create` arguments: labels, ports, mounts, GPUs, its command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podbay.core.devcontainer.compose_service import compose_service
from podbay.core.devcontainer.config import DevContainerConfig, MountObject
from podbay.core.devcontainer.metadata import Merged

if TYPE_CHECKING:
    from podbay.core.devcontainer.plan import BaseImage, PlanContext


@dataclass(frozen=True)
class CreateArgs:
    """A container's `docker create` arguments, and what the plan also reports of them."""

    args: list[str]  # everything after `docker create`
    mounts: list[str]  # every --mount spec, the workspace's own included
    compose_service: dict[str, Any] | None  # the dev service's override, for compose
    warnings: list[str]


def create_args(
    config: DevContainerConfig,
    merged: Merged,
    ctx: PlanContext,
    image: str,
    base: BaseImage,
    labels: Mapping[str, str],
    compose: bool,
) -> CreateArgs:
    """`docker create` arguments for a container of `image` with `labels`; for a compose config,
    also the dev service's settings to the same effect."""
    gpus, warnings = _gpus(merged, ctx.gpu_available)
    mounts = _mounts(config, merged, ctx)
    args: list[str] = ["--name", ctx.container_name]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    args += _app_ports(config.appPort)
    for spec in mounts:
        args += ["--mount", spec]
    for key, value in merged.containerEnv.items():
        args += ["-e", f"{key}={value}"]
    if merged.containerUser:
        args += ["-u", merged.containerUser]
    args += config.runArgs or []
    if gpus:
        args += ["--gpus", "all"]
    args += _privilege_args(merged)
    # Compose services keep their own command unless told otherwise (the spec's default).
    override = merged.overrideCommand is True if compose else merged.overrideCommand is not False
    script = None
    if override or merged.entrypoints:
        script = _keepalive(merged.entrypoints, run_image_command=not override)
    image_command = [] if override else [*base.entrypoint, *base.cmd]
    args += _command_args(image, script, image_command)
    service = None
    if compose:
        service = compose_service(
            ctx.container_name, merged, image, labels, script, image_command, gpus
        )
    return CreateArgs(args=args, mounts=mounts, compose_service=service, warnings=warnings)


def _gpus(merged: Merged, gpu_available: bool) -> tuple[bool, list[str]]:
    """Whether the container gets the engine's GPUs, and a warning when it asks for one (not
    as "optional") that the engine does not have."""
    wanted = (merged.hostRequirements or {}).get("gpu")
    if wanted in (None, False):
        return False, []
    if gpu_available:
        return True, []
    if wanted == "optional":
        return False, []
    return False, ["hostRequirements asks for a GPU and this Docker engine has none"]


def _mounts(config: DevContainerConfig, merged: Merged, ctx: PlanContext) -> list[str]:
    """Every --mount spec: the workspace's (none when workspaceMount is ""), then the merged
    mounts of the image, the features and the config."""
    mount = config.workspaceMount
    if mount is None:
        mount = _mount_spec("bind", ctx.mount_folder or ctx.local_folder, ctx.mount_target)
    mounts = [mount] if mount else []
    for item in merged.mounts:
        if isinstance(item, str):
            mounts.append(item)
        else:
            mounts.append(_mount_object(MountObject.model_validate(item)))
    return mounts


def _privilege_args(merged: Merged) -> list[str]:
    args: list[str] = []
    if merged.init:
        args.append("--init")
    if merged.privileged:
        args.append("--privileged")
    for cap in merged.capAdd:
        args += ["--cap-add", cap]
    for opt in merged.securityOpt:
        args += ["--security-opt", opt]
    return args


def _command_args(image: str, script: str | None, image_command: list[str]) -> list[str]:
    """The image and what the container runs: its own command, or the keepalive `script` with
    `image_command` as its arguments."""
    if script is None:
        return [image]
    return ["--entrypoint", "/bin/sh", image, "-c", script, "-", *image_command]


def _keepalive(entrypoints: list[str], run_image_command: bool) -> str:
    """The container's command: feature entrypoints, then the image's command or a sleep that
    exits at once on `docker stop`."""
    lines = ["echo Container started", 'trap "exit 0" TERM', *entrypoints]
    if run_image_command:
        lines.append('exec "$@"')
    lines.append("while sleep 1000 & wait $!; do :; done")
    return "\n".join(lines)


def _mount_spec(kind: str, source: str, target: str) -> str:
    return ",".join(
        _csv_field(f"{k}={v}") for k, v in (("type", kind), ("source", source), ("target", target))
    )


def _mount_object(mount: MountObject) -> str:
    parts = [f"type={mount.type}"]
    if mount.source:
        parts.append(f"source={mount.source}")
    parts.append(f"target={mount.target}")
    return ",".join(_csv_field(p) for p in parts)


def _csv_field(field: str) -> str:
    # docker's --mount value is CSV: a field with a comma or quote must be quoted.
    if "," in field or '"' in field:
        return '"' + field.replace('"', '""') + '"'
    return field


def _app_ports(app_port: int | str | list[int | str] | None) -> list[str]:
    if app_port is None:
        return []
    ports = app_port if isinstance(app_port, list) else [app_port]
    args: list[str] = []
    for port in ports:
        args += ["-p", f"127.0.0.1:{port}:{port}" if isinstance(port, int) else port]
    return args
