"""PURE: turn a devcontainer config and where it lives into a plan the engine carries out.

No Docker, no files: a test can build a plan and compare it. Substitution passes 1 (host values)
and 2 (`${devcontainerId}`) happen here; pass 3 (`${containerEnv:X}`) needs the container and
happens in the engine, through `resolve_container_env`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel

from core.devcontainer import ids
from core.devcontainer.config import Command, DevContainerConfig, MountObject
from core.devcontainer.substitute import (
    container_resolver,
    id_resolver,
    local_resolver,
    substitute,
)
from core.errors import ConfigError

ONCE_HOOKS = ("onCreateCommand", "updateContentCommand", "postCreateCommand")

# Properties that travel in the devcontainer.metadata label (spec "image metadata").
METADATA_KEYS = (
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "waitFor",
    "customizations",
    "mounts",
    "containerEnv",
    "containerUser",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "remoteUser",
    "userEnvProbe",
    "remoteEnv",
    "overrideCommand",
    "portsAttributes",
    "otherPortsAttributes",
    "forwardPorts",
    "shutdownAction",
    "updateRemoteUserUID",
    "hostRequirements",
)

# Keeps the container alive without the image's own command; exits at once on `docker stop`.
KEEPALIVE = 'echo Container started\ntrap "exit 0" TERM\nwhile sleep 1000 & wait $!; do :; done'


class PlanContext(BaseModel):
    name: str
    local_folder: str  # the source folder on the machine
    config_file: str | None  # None when the config is synthesised from --image
    container_name: str
    labels: dict[str, str]  # podbay's own labels
    env: dict[str, str]  # the host environment for ${localEnv:X}


class Plan(BaseModel):
    image: str
    create_args: list[str]  # everything after `docker create`
    workspace_folder: str
    container_user: str | None
    remote_user: str | None
    remote_env: dict[str, str | None]
    hooks: dict[str, Command]  # in-container lifecycle hooks, in spec order
    initialize_command: Command | None
    config_hash: str
    devcontainer_id: str
    id_labels: dict[str, str]
    forward_ports: list[int | str]
    vscode_extensions: list[str]


def make_plan(raw: Mapping[str, Any], ctx: PlanContext) -> Plan:
    """Build the plan for an image config; Dockerfile, Compose and features come later."""
    if raw.get("build") or raw.get("dockerFile"):
        raise ConfigError(
            "Dockerfile builds are not supported by this podbay version",
            'build the image yourself (docker build -t NAME .) and set "image": "NAME"',
        )
    if raw.get("dockerComposeFile"):
        raise ConfigError(
            "Docker Compose configs are not supported by this podbay version",
            "use an image config for now",
        )
    if raw.get("features"):
        raise ConfigError(
            "features are not supported by this podbay version",
            'remove "features" or install the tools in your image',
        )

    id_labels = {"devcontainer.local_folder": ctx.local_folder}
    if ctx.config_file:
        id_labels["devcontainer.config_file"] = ctx.config_file
    devcontainer_id = ids.devcontainer_id(id_labels)

    # Pass 1 twice: workspaceFolder may itself use host variables, and everything else may use
    # ${containerWorkspaceFolder}. Then pass 2.
    first = local_resolver(ctx.env, ctx.local_folder, None)
    folder_raw = raw.get("workspaceFolder")
    workspace_folder = (
        str(substitute(folder_raw, first)) if isinstance(folder_raw, str) and folder_raw else ""
    ) or f"/workspaces/{ctx.name}"
    resolved = substitute(dict(raw), local_resolver(ctx.env, ctx.local_folder, workspace_folder))
    resolved = substitute(resolved, id_resolver(devcontainer_id))
    config = DevContainerConfig.model_validate(resolved)
    if not config.image:
        raise ConfigError(
            f"{ctx.config_file or 'the config'} names no image",
            'add "image": "NAME:TAG" (Dockerfile builds come in a later version)',
        )

    metadata = [{k: raw[k] for k in METADATA_KEYS if k in raw}]
    config_hash = hashlib.sha256(
        json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:16]
    labels = {
        **ctx.labels,
        **id_labels,
        "devcontainer.metadata": json.dumps(metadata, separators=(",", ":")),
        "dev.podbay.config_hash": config_hash,
    }

    args: list[str] = ["--name", ctx.container_name]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    args += _app_ports(config.appPort)
    mount = config.workspaceMount
    if mount is None:
        mount = _mount_spec("bind", ctx.local_folder, f"/workspaces/{ctx.name}")
    if mount:
        args += ["--mount", mount]
    for item in config.mounts or []:
        args += ["--mount", item if isinstance(item, str) else _mount_object(item)]
    for key, value in (config.containerEnv or {}).items():
        args += ["-e", f"{key}={value}"]
    if config.containerUser:
        args += ["-u", config.containerUser]
    args += config.runArgs or []
    if config.init:
        args.append("--init")
    if config.privileged:
        args.append("--privileged")
    for cap in config.capAdd or []:
        args += ["--cap-add", cap]
    for opt in config.securityOpt or []:
        args += ["--security-opt", opt]
    override = config.overrideCommand is not False
    if override:
        args += ["--entrypoint", "/bin/sh"]
    args.append(config.image)
    if override:
        args += ["-c", KEEPALIVE]

    hooks: dict[str, Command] = {}
    for hook in (*ONCE_HOOKS, "postStartCommand"):
        command = getattr(config, hook)
        if command:
            hooks[hook] = command

    return Plan(
        image=config.image,
        create_args=args,
        workspace_folder=workspace_folder,
        container_user=config.containerUser,
        remote_user=config.remoteUser,
        remote_env=dict(config.remoteEnv or {}),
        hooks=hooks,
        initialize_command=config.initializeCommand or None,
        config_hash=config_hash,
        devcontainer_id=devcontainer_id,
        id_labels=id_labels,
        forward_ports=list(config.forwardPorts or []),
        vscode_extensions=_vscode_extensions(config.customizations),
    )


def _vscode_extensions(customizations: dict[str, Any] | None) -> list[str]:
    vscode = (customizations or {}).get("vscode")
    extensions = vscode.get("extensions") if isinstance(vscode, dict) else None
    if not isinstance(extensions, list):
        return []
    return [e for e in extensions if isinstance(e, str) and e and not e.startswith("-")]


def resolve_container_env(plan: Plan, container_env: Mapping[str, str]) -> Plan:
    """Pass 3: `${containerEnv:X}` in remoteEnv and hooks, once the container exists."""
    resolver = container_resolver(container_env)
    return plan.model_copy(
        update={
            "remote_env": substitute(plan.remote_env, resolver),
            "hooks": substitute(plan.hooks, resolver),
        }
    )


def hook_argvs(command: Command) -> list[tuple[str | None, list[str]]]:
    """A lifecycle command as argv lists: string -> sh -c, array -> as is, object -> each."""
    if isinstance(command, str):
        return [(None, ["/bin/sh", "-c", command])] if command.strip() else []
    if isinstance(command, list):
        return [(None, list(command))] if command else []
    result: list[tuple[str | None, list[str]]] = []
    for name, part in command.items():
        result += [(name, argv) for _, argv in hook_argvs(part)]
    return result


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


def container_name(name: str, install_id: str) -> str:
    return f"podbay-{name}-{install_id[:6]}"


def basename(path: str) -> str:
    return PurePosixPath(path).name
