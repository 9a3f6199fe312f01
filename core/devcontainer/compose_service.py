"""PURE: the dev service's settings in podbay's Docker Compose override file."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

from podbay.core.devcontainer.metadata import Merged


def compose_service(
    container_name: str,
    merged: Merged,
    image: str,
    labels: Mapping[str, str],
    script: str | None,
    command: list[str],
    gpus: bool,
) -> dict[str, Any]:
    """The dev service's settings in podbay's override file (JSON, which is YAML). `script` is the
    keepalive entrypoint (None: the service keeps its own) and `command` its arguments. Compose
    reads `$` in every value as a variable, so each one is written as `$$`."""
    service: dict[str, Any] = {
        "container_name": container_name,
        "image": image,
        "labels": dict(labels),
        "environment": dict(merged.containerEnv),
    }
    volumes = [_compose_volume(m) for m in merged.mounts]
    if volumes:
        service["volumes"] = volumes
    if merged.containerUser:
        service["user"] = merged.containerUser
    if merged.init:
        service["init"] = True
    if merged.privileged:
        service["privileged"] = True
    if merged.capAdd:
        service["cap_add"] = list(merged.capAdd)
    if merged.securityOpt:
        service["security_opt"] = list(merged.securityOpt)
    if script is not None:
        service["entrypoint"] = ["/bin/sh", "-c", script, "-"]
        service["command"] = command
    if gpus:
        service["deploy"] = {
            "resources": {"reservations": {"devices": [{"capabilities": ["gpu"]}]}}
        }
    escaped: dict[str, Any] = _compose_escape(service)
    return escaped


def _compose_volume(mount: str | dict[str, Any]) -> dict[str, Any]:
    """A mount (docker's `type=...,source=...,target=...` or the spec's object) in compose's
    long volume syntax."""
    if isinstance(mount, dict):
        fields = {str(k): str(v) for k, v in mount.items()}
    else:
        fields = {}
        for part in next(csv.reader([mount])):
            key, _, value = part.partition("=")
            fields[key.strip()] = value.strip()
    volume: dict[str, Any] = {"type": fields.get("type", "volume")}
    source = fields.get("source") or fields.get("src")
    if source:
        volume["source"] = source
    volume["target"] = fields.get("target") or fields.get("dst") or fields.get("destination", "")
    if fields.get("readonly", fields.get("ro", "false")) in ("", "true", "1"):
        volume["read_only"] = True
    return volume


def _compose_escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_compose_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _compose_escape(v) for k, v in value.items()}
    return value
