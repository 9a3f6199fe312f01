"""devcontainer.json as a pydantic model: known properties typed strictly, unknown ones warned."""

from __future__ import annotations

import re
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podbay.core.devcontainer import jsonc
from podbay.core.devcontainer.files import LOCAL, Files
from podbay.core.errors import ConfigError

# A lifecycle command: a shell string, an argv array, or named commands run in parallel.
Command = str | list[str] | dict[str, str | list[str]]

HOOKS_IN_CONTAINER = (
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
)


class MountObject(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    type: Literal["bind", "volume"]
    source: str | None = None
    target: str


class BuildOptions(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    dockerfile: str | None = None
    context: str | None = None
    args: dict[str, str] | None = None
    target: str | None = None
    cacheFrom: str | list[str] | None = None
    options: list[str] | None = None


class DevContainerConfig(BaseModel):
    """The properties of devcontainer.json podbay reads. Names follow the spec exactly."""

    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)

    schema_: str | None = Field(default=None, alias="$schema")
    name: str | None = None
    image: str | None = None
    build: BuildOptions | None = None
    dockerFile: str | None = None
    context: str | None = None
    dockerComposeFile: str | list[str] | None = None
    service: str | None = None
    runServices: list[str] | None = None
    features: dict[str, Any] | None = None
    overrideFeatureInstallOrder: list[str] | None = None
    forwardPorts: list[int | str] | None = None
    portsAttributes: dict[str, Any] | None = None
    otherPortsAttributes: dict[str, Any] | None = None
    appPort: int | str | list[int | str] | None = None
    containerEnv: dict[str, str] | None = None
    remoteEnv: dict[str, str | None] | None = None
    containerUser: str | None = None
    remoteUser: str | None = None
    updateRemoteUserUID: bool | None = None
    userEnvProbe: (
        Literal["none", "interactiveShell", "loginShell", "loginInteractiveShell"] | None
    ) = None
    overrideCommand: bool | None = None
    shutdownAction: Literal["none", "stopContainer", "stopCompose"] | None = None
    init: bool | None = None
    privileged: bool | None = None
    capAdd: list[str] | None = None
    securityOpt: list[str] | None = None
    mounts: list[str | MountObject] | None = None
    runArgs: list[str] | None = None
    workspaceMount: str | None = None
    workspaceFolder: str | None = None
    customizations: dict[str, Any] | None = None
    hostRequirements: dict[str, Any] | None = None
    secrets: dict[str, Any] | None = None
    waitFor: (
        Literal[
            "initializeCommand",
            "onCreateCommand",
            "updateContentCommand",
            "postCreateCommand",
            "postStartCommand",
        ]
        | None
    ) = None
    initializeCommand: Command | None = None
    onCreateCommand: Command | None = None
    updateContentCommand: Command | None = None
    postCreateCommand: Command | None = None
    postStartCommand: Command | None = None
    postAttachCommand: Command | None = None

    def unknown_properties(self) -> list[str]:
        return sorted((self.model_extra or {}).keys())


# Keys that older configs use and VS Code still accepts; not worth a warning.
_LEGACY_KEYS = {"extensions", "settings", "devPort", "codespaces"}


class LoadedConfig(BaseModel):
    """A config file as read: the model, the raw dict, where it lives, and warnings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path | None
    raw: dict[str, Any]
    config: DevContainerConfig
    warnings: list[str] = []


def load(path: Path, files: Files = LOCAL) -> LoadedConfig:
    """Read and validate a devcontainer.json; errors carry file:line:col and a hint."""
    try:
        text = files.read_text(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror}", "check the path and permissions"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", "save the file as UTF-8") from None
    return parse(text, str(path), path)


def parse(text: str, filename: str, path: Path | None = None) -> LoadedConfig:
    doc = jsonc.parse(text, filename)
    if not isinstance(doc.value, dict):
        raise ConfigError(
            f"{doc.where(())}: devcontainer.json must contain a JSON object",
            'wrap the settings in { ... }, e.g. { "image": "debian:bookworm" }',
        )
    try:
        config = DevContainerConfig.model_validate(doc.value)
    except ValidationError as exc:
        raise _type_error(exc, doc) from None
    warnings = [
        f"{doc.where((key,), key=True)}: unknown property {key!r} is ignored"
        for key in config.unknown_properties()
        if key not in _LEGACY_KEYS
    ]
    return LoadedConfig(path=path, raw=doc.value, config=config, warnings=warnings)


_TYPE_NAMES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _type_error(exc: ValidationError, doc: jsonc.Document) -> ConfigError:
    # pydantic reports one error per union member; keep the one whose location reaches deepest
    # into the actual data, with union tags (like 'str' or 'list[str]') dropped from the path.
    best: tuple[int, jsonc.JsonPath, str] | None = None
    for error in exc.errors():
        path = _data_path(doc.value, error["loc"])
        if best is None or len(path) > best[0]:
            best = (len(path), path, error["type"])
    assert best is not None
    _, path, _ = best
    value = _at(doc.value, path)
    dotted = ".".join(str(p) for p in path) or "(top level)"
    expected = _expected(path)
    got = "a boolean" if isinstance(value, bool) else _TYPE_NAMES.get(type(value), "a value")
    detail = f"expected {expected}" if expected else "has the wrong type or value"
    return ConfigError(
        f"{doc.where(path)}: {dotted} {detail}, got {got}",
        "see the devcontainer.json reference for the property's type",
    )


def _expected(path: jsonc.JsonPath) -> str:
    if not path:
        return ""
    top = str(path[0])
    if top in HOOKS_IN_CONTAINER or top == "initializeCommand":
        return "a string, an array of strings, or an object of those"
    field = DevContainerConfig.model_fields.get(top)
    if field is None:
        return ""
    annotation: Any = field.annotation
    for part in path[1:]:
        args = [a for a in get_args(annotation) if a is not type(None)]
        origin = get_origin(annotation)
        if origin in (Union, UnionType) and len(args) == 1:
            annotation, args, origin = args[0], list(get_args(args[0])), get_origin(args[0])
        if origin is dict and len(args) == 2 and isinstance(part, str):
            annotation = args[1]
        elif origin is list and args and isinstance(part, int):
            annotation = args[0]
        else:
            return ""
    return _describe(annotation)


def _describe(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        names = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(n for n in names if n)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        inner = _describe(args[0]) if args else ""
        return f"an array of {_plural(inner)}" if inner else "an array"
    if origin is dict:
        inner = _describe(args[1]) if len(args) == 2 else ""
        return f"an object of {_plural(inner)}" if inner else "an object"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object"
    return _TYPE_NAMES.get(annotation, "")


def _plural(name: str) -> str:
    return re.sub(r"\ban? (\w+)", r"\1s", name).replace("true or falses", "booleans")


def _data_path(data: Any, loc: tuple[int | str, ...]) -> jsonc.JsonPath:
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
    return tuple(path)


def _at(data: Any, path: jsonc.JsonPath) -> Any:
    for part in path:
        data = data[part]
    return data
