"""PURE: the `devcontainer.metadata` image label, and merging it with features and the config.

An image carries a JSON array of entries (or one object) in that label: one per config it was
built from, one per feature installed in it. The effective settings of a container are the merge
of the base image's entries, then each feature's, then devcontainer.json's, by the spec's rules
(the same rules as the reference CLI's `mergeConfiguration`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from podbay.core.devcontainer.jsonc import MAX_DEPTH
from podbay.core.devcontainer.values import check_env, check_user, port_spec

LABEL = "devcontainer.metadata"

CONFIG = "devcontainer.json"  # the origin of the config's own entry
ORIGIN = "_origin"  # set on an entry to name where it came from (never written to a label)

LIFECYCLE_HOOKS = (
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
)

# What devcontainer.json contributes to the label.
CONFIG_KEYS = (
    *LIFECYCLE_HOOKS,
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

# What a feature's devcontainer-feature.json contributes (its containerEnv goes into the image).
FEATURE_KEYS = (
    *LIFECYCLE_HOOKS,
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "entrypoint",
    "mounts",
    "customizations",
)


class HookCommand(BaseModel):
    """One contribution to a lifecycle hook: who added it, and the command in any of its forms."""

    origin: str  # a feature id, "the image", or "devcontainer.json"
    command: Any  # str | list[str] | dict[str, str | list[str]]


class Merged(BaseModel):
    """The effective container settings after merging every metadata entry."""

    init: bool = False
    privileged: bool = False
    capAdd: list[str] = []
    securityOpt: list[str] = []
    entrypoints: list[str] = []
    mounts: list[str | dict[str, Any]] = []
    customizations: dict[str, list[Any]] = {}
    hooks: dict[str, list[HookCommand]] = {}
    waitFor: str | None = None
    remoteUser: str | None = None
    containerUser: str | None = None
    userEnvProbe: str | None = None
    remoteEnv: dict[str, str | None] = {}
    containerEnv: dict[str, str] = {}
    overrideCommand: bool | None = None
    portsAttributes: dict[str, Any] = {}
    otherPortsAttributes: dict[str, Any] | None = None
    forwardPorts: list[int | str] = []
    shutdownAction: str | None = None
    updateRemoteUserUID: bool | None = None
    hostRequirements: dict[str, Any] | None = None


def parse_label(value: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The entries of a label value, and a warning when it is not valid metadata."""
    if not value:
        return [], None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        return [], f"the image's {LABEL} label is not valid JSON ({exc.msg}); it is ignored"
    except RecursionError:
        return [], f"the image's {LABEL} label is nested too deeply; it is ignored"
    if _depth(data) > MAX_DEPTH:
        return [], f"the image's {LABEL} label is nested too deeply; it is ignored"
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        return [], f"the image's {LABEL} label is not a list of objects; it is ignored"
    return data, None


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend(
                (child, level + 1) for child in (node.values() if isinstance(node, dict) else node)
            )
    return deepest


def pick(source: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: source[key] for key in keys if key in source and source[key] is not None}


def label_value(entries: list[dict[str, Any]]) -> str:
    return json.dumps([e for e in entries if e], separators=(",", ":"))


def origin_of(entry: Mapping[str, Any]) -> str:
    """Where a metadata entry came from: "the image", a feature id, or devcontainer.json."""
    return str(entry.get(ORIGIN) or entry.get("id") or CONFIG)


def merge(entries: list[dict[str, Any]]) -> Merged:
    """Merge entries in order (base image first, devcontainer.json last).

    The values that reach ssh_config, shells and argv (users, environment) are checked here,
    whichever entry they come from; a bad one is a ConfigError naming its origin.
    """
    entries = [e for e in entries if e]
    _check_users_and_env(entries)
    last = list(reversed(entries))

    def last_defined(key: str, kind: type | tuple[type, ...] = object) -> Any:
        return next((e[key] for e in last if isinstance(e.get(key), kind) and e[key] != ""), None)

    def per_key(key: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for entry in entries:
            value = entry.get(key)
            if isinstance(value, dict):
                result.update(value)
        return result

    return Merged(
        init=any(e.get("init") is True for e in entries),
        privileged=any(e.get("privileged") is True for e in entries),
        capAdd=_union(e.get("capAdd") for e in entries),
        securityOpt=_union(e.get("securityOpt") for e in entries),
        entrypoints=[e["entrypoint"] for e in entries if isinstance(e.get("entrypoint"), str)],
        mounts=_mounts(entries),
        customizations=_customizations(entries),
        hooks=_hooks(entries),
        waitFor=last_defined("waitFor", str),
        remoteUser=last_defined("remoteUser", str),
        containerUser=last_defined("containerUser", str),
        userEnvProbe=last_defined("userEnvProbe", str),
        remoteEnv=per_key("remoteEnv"),
        containerEnv={k: str(v) for k, v in per_key("containerEnv").items()},
        overrideCommand=last_defined("overrideCommand", bool),
        portsAttributes=per_key("portsAttributes"),
        otherPortsAttributes=last_defined("otherPortsAttributes", dict),
        forwardPorts=_forward_ports(entries),
        shutdownAction=last_defined("shutdownAction", str),
        updateRemoteUserUID=last_defined("updateRemoteUserUID", bool),
        hostRequirements=_host_requirements(entries),
    )


def _check_users_and_env(entries: list[dict[str, Any]]) -> None:
    """Check the users and environments of every entry; a bad one is a ConfigError."""
    for entry in entries:
        for key in ("remoteUser", "containerUser"):
            if isinstance(entry.get(key), str) and entry[key] != "":
                check_user(entry[key], key, origin_of(entry))
        for key in ("remoteEnv", "containerEnv"):
            if isinstance(entry.get(key), dict):
                check_env(entry[key], key, origin_of(entry))


def _customizations(entries: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each namespace's customizations, one item per entry that has them, in entry order."""
    customizations: dict[str, list[Any]] = {}
    for entry in entries:
        value = entry.get("customizations")
        if isinstance(value, dict):
            for namespace, item in value.items():
                customizations.setdefault(namespace, []).append(item)
    return customizations


def _hooks(entries: list[dict[str, Any]]) -> dict[str, list[HookCommand]]:
    """Each lifecycle hook's commands, one per entry that sets it, in entry order."""
    hooks: dict[str, list[HookCommand]] = {}
    for hook in LIFECYCLE_HOOKS:
        commands = [
            HookCommand(origin=origin_of(e), command=e[hook]) for e in entries if e.get(hook)
        ]
        if commands:
            hooks[hook] = commands
    return hooks


def _union(lists: Iterable[Any]) -> list[str]:
    result: list[str] = []
    for items in lists:
        for item in items if isinstance(items, list) else []:
            if item not in result:
                result.append(item)
    return result


def mount_target(mount: str | Mapping[str, Any]) -> str:
    if not isinstance(mount, str):
        return str(mount.get("target", ""))
    for part in mount.split(","):
        key, _, value = part.partition("=")
        if key.strip() in ("target", "dst", "destination"):
            return value.strip()
    return ""


def _mounts(entries: list[dict[str, Any]]) -> list[str | dict[str, Any]]:
    """All mounts; for one target, the last entry's mount wins (in that entry's position)."""
    every = [m for e in entries for m in (e.get("mounts") or []) if isinstance(m, str | dict)]
    seen: set[str] = set()
    kept: list[str | dict[str, Any]] = []
    for mount in reversed(every):
        target = mount_target(mount)
        if target not in seen:
            seen.add(target)
            kept.append(mount)
    return list(reversed(kept))


def _forward_ports(entries: list[dict[str, Any]]) -> list[int | str]:
    result: list[int | str] = []
    for entry in entries:
        for port in entry.get("forwardPorts") or []:
            if isinstance(port, str) and re.fullmatch(r"localhost:\d+", port):
                port = int(port.removeprefix("localhost:"))
            if isinstance(port, int | str) and port not in result:
                port_spec(port)  # checked here, where it enters, not when a session starts
                result.append(port)
    return result


_SIZE = re.compile(r"^(\d+)([tgmk]b)?$")
_UNITS = {"t": 2**40, "g": 2**30, "m": 2**20, "k": 2**10}


def size_bytes(text: object) -> int:
    """`8gb` -> bytes, the spec's units; anything else counts as 0."""
    match = _SIZE.match(str(text).lower()) if text is not None else None
    if not match:
        return 0
    number, unit = match.groups()
    return int(number) * (_UNITS[unit[0]] if unit else 1)


def _host_requirements(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    wanted = [e["hostRequirements"] for e in entries if isinstance(e.get("hostRequirements"), dict)]
    if not wanted:
        return None
    cpus = max((int(w.get("cpus") or 0) for w in wanted), default=0)
    memory = max((size_bytes(w.get("memory")) for w in wanted), default=0)
    storage = max((size_bytes(w.get("storage")) for w in wanted), default=0)
    gpu: Any = None
    for w in wanted:
        gpu = _merge_gpu(gpu, w.get("gpu"))
    result: dict[str, Any] = {}
    if cpus:
        result["cpus"] = cpus
    if memory:
        result["memory"] = memory
    if storage:
        result["storage"] = storage
    if gpu not in (None, False):
        result["gpu"] = gpu
    return result or None


def _merge_gpu(a: Any, b: Any) -> Any:
    if a in (None, False):
        return b
    if b in (None, False):
        return a
    if a == "optional" and b == "optional":
        return "optional"
    da, db = (x if isinstance(x, dict) else {} for x in (a, b))
    cores = max(int(da.get("cores") or 0), int(db.get("cores") or 0))
    memory = max(size_bytes(da.get("memory")), size_bytes(db.get("memory")))
    merged: dict[str, Any] = {}
    if cores:
        merged["cores"] = cores
    if memory:
        merged["memory"] = memory
    return merged or True
