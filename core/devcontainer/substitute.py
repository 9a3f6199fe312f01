"""${...} variable substitution, as the devcontainer spec describes it, in three passes.

A resolver gets (name, argument) and returns the text, or None to leave the variable as written
(so `${containerEnv:X}` survives the first pass). Unlike the reference CLI, a default value may
contain ':' (`${localEnv:URL:https://example.org}` keeps the whole URL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from podbay.core.errors import ConfigError

Resolver = Callable[[str, str | None], str | None]

_VARIABLE = re.compile(r"\$\{(.*?)\}", re.DOTALL)


def substitute(value: Any, resolver: Resolver) -> Any:
    """Return `value` with variables replaced in every string (object keys are left alone)."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: _one(m, resolver), value)
    if isinstance(value, list):
        return [substitute(item, resolver) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, resolver) for key, item in value.items()}
    return value


def _one(match: re.Match[str], resolver: Resolver) -> str:
    inner = match.group(1)
    name, sep, arg = inner.partition(":")
    if name in ("localEnv", "env", "containerEnv") and not arg:
        raise ConfigError(
            f"variable {match.group(0)} names no environment variable",
            f"write it as ${{{name}:NAME}} or ${{{name}:NAME:default}}",
        )
    resolved = resolver(name, arg if sep else None)
    return match.group(0) if resolved is None else resolved


def env_lookup(env: Mapping[str, str], arg: str) -> str:
    """`VAR` or `VAR:default` against an environment; unset without default gives ''."""
    var, has_default, default = arg.partition(":")
    if var in env:
        return env[var]
    return default if has_default else ""


def local_resolver(
    env: Mapping[str, str],
    local_folder: str,
    container_folder: str | None,
    basename: str | None = None,
) -> Resolver:
    """Pass 1: host values known before anything runs. `basename` is the folder's name as the
    user knows it (default: `local_folder`'s own; a folder copied to a VM keeps its name)."""

    def resolve(name: str, arg: str | None) -> str | None:
        if name in ("localEnv", "env") and arg is not None:
            return env_lookup(env, arg)
        if name == "localWorkspaceFolder":
            return local_folder
        if name == "localWorkspaceFolderBasename":
            return PurePosixPath(local_folder).name if basename is None else basename
        if name == "containerWorkspaceFolder" and container_folder is not None:
            return container_folder
        if name == "containerWorkspaceFolderBasename" and container_folder is not None:
            return PurePosixPath(container_folder).name
        return None

    return resolve


def id_resolver(devcontainer_id: str) -> Resolver:
    """Pass 2: `${devcontainerId}`, once the identity labels are known."""

    def resolve(name: str, arg: str | None) -> str | None:
        return devcontainer_id if name == "devcontainerId" else None

    return resolve


def container_resolver(container_env: Mapping[str, str]) -> Resolver:
    """Pass 3: `${containerEnv:X}`, after the container exists."""

    def resolve(name: str, arg: str | None) -> str | None:
        if name == "containerEnv" and arg is not None:
            return env_lookup(container_env, arg)
        return None

    return resolve
