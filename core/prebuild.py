"""Prebuilds: a workspace's image built once and pulled by every `up` of the same config.

A prebuild is the image `up` would make before the container (the base pulled or built from
the Dockerfile, then the features), without the step that depends on who runs it (the
remote user's uid). Its tag is the fingerprint of what it was made from, so `up` finds it by
computing the same fingerprint from the config it reads: the config's keys that shape the
image (image, build, features and their order, the users the features install for) and the
files they name (the Dockerfile, local features' folders, the feature lockfile). A config
that changed in any of these has another fingerprint, so a stale prebuild is never used.
Files a Dockerfile copies are not looked at, as for the drift check; `podbay prebuild` again
after changing them.

Where prebuilds are: `up --prebuild REGISTRY/REPO`, or the config's own
`customizations.podbay.prebuild` (so everyone who clones the project gets them).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from podbay.core import registry_access
from podbay.core.devcontainer.plan import Resolved
from podbay.core.devcontainer.values import IMAGE_REFERENCE, printable, shown
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import ConfigError, PodbayError
from podbay.core.reporter import Reporter
from podbay.core.ssh.bundle import ARCHES

LABEL = "dev.podbay.prebuild"  # the fingerprint a prebuild was made from
LABEL_SOURCE = "dev.podbay.prebuild.source"  # what it was made from, as the user named it
TAG_PREFIX = "podbay-"
# What a prebuild holds; a change here (another step baked in) makes every old one stale.
_FORMAT = 1
# The config's keys that shape the image before the container (core/images.py).
_IMAGE_KEYS = frozenset(
    {
        "image",
        "build",
        "dockerFile",
        "context",
        "features",
        "overrideFeatureInstallOrder",
        "containerUser",
        "remoteUser",
    }
)
_LOCKFILES = frozenset({"devcontainer-lock.json", ".devcontainer-lock.json"})


def fingerprint(resolved: Resolved) -> str:
    """The fingerprint of what the image is made from (resolved.fingerprint holds a hash per
    config key and per file, core/images.file_parts)."""
    parts = {
        key: value
        for key, value in resolved.fingerprint.items()
        if key in _IMAGE_KEYS
        or key == "Dockerfile"
        or key.startswith("feature ")
        or key in _LOCKFILES
    }
    data = json.dumps({"format": _FORMAT, **parts}, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def tag(fp: str, arch: str) -> str:
    """A prebuild's tag: its fingerprint and the architecture it runs on (Docker's word:
    amd64, arm64), so prebuilds for several coexist and an engine finds its own."""
    return f"{TAG_PREFIX}{fp}-{arch}"


def engine_arch(docker: DockerEndpoint) -> str:
    """The engine's architecture in Docker's words (its info says uname's: x86_64)."""
    machine = str(docker.info().get("Architecture") or "")
    return ARCHES.get(machine, machine) or "unknown"


def check_repository(value: str, what: str = "--prebuild") -> str:
    """A repository to keep prebuilds in: REGISTRY/NAME (a registry's host named, tags are
    podbay's own). One line and a hint otherwise."""
    text = printable(value)
    if "@" in value or ":" in value.rpartition("/")[2]:
        raise ConfigError(
            f"{what} {text} names a tag or digest",
            "give the repository alone (REGISTRY/NAME); podbay tags each prebuild with its "
            "config's fingerprint",
        )
    if len(value) > 255 or not IMAGE_REFERENCE.fullmatch(value):
        raise ConfigError(
            f"{what} {text} is not a repository name",
            "write REGISTRY/NAME in lower case, e.g. 127.0.0.1:5000/team/project",
        )
    first, slash, _ = value.partition("/")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        raise ConfigError(
            f"{what} {text} names no registry",
            "write REGISTRY/NAME with the registry's host first, e.g. 127.0.0.1:5000/team/project",
        )
    return value


def repository_of(resolved: Resolved, given: str | None) -> str | None:
    """Where to look for prebuilds: --prebuild, else the config's customizations.podbay."""
    if given:
        return given
    podbay = (resolved.config.customizations or {}).get("podbay")
    value = podbay.get("prebuild") if isinstance(podbay, dict) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            "customizations.podbay.prebuild must be a string",
            'write "prebuild": "REGISTRY/NAME"',
        )
    return check_repository(value, "customizations.podbay.prebuild")


@dataclass
class Found:
    image: str  # REPO:TAG, on the engine


async def find(
    docker: DockerEndpoint,
    repository: str,
    resolved: Resolved,
    report: Reporter,
    login: registry_access.Lookup | None = None,
) -> Found | None:
    """The prebuild of this config, pulled to the engine (or already there), or None, said in
    one line: none made yet, the registry cannot be asked, or the image is not what its tag
    says. Never an error: `up` then builds, as it would without prebuilds."""
    fp = fingerprint(resolved)
    try:
        image = f"{repository}:{tag(fp, await asyncio.to_thread(engine_arch, docker))}"
        info = await asyncio.to_thread(docker.inspect_image, image)
    except PodbayError as exc:
        report.warn(f"prebuilds in {repository} cannot be looked at: {exc.message}; building")
        return None
    if info is None:
        registry = registry_access.registry_of(image)
        try:
            found = await login(registry) if login is not None else None
            digest = await asyncio.to_thread(docker.distribution, image, found)
        except PodbayError as exc:
            report.warn(f"prebuilds in {repository} cannot be looked at: {exc.message}; building")
            return None
        if digest is None:
            report.step(f"no prebuild of this config in {repository} (fingerprint {fp}); building")
            return None
        report.step(f"pulling the prebuild {image}")
        report.bind_loop()

        def progress(done: int, total: int, status: str) -> None:
            report.progress_threadsafe(f"pulling the prebuild: {status}", done, total)

        try:
            await asyncio.to_thread(docker.pull, image, progress, found)
        except PodbayError as exc:
            report.warn(f"the prebuild {image} could not be pulled: {exc.message}; building")
            return None
        info = await asyncio.to_thread(docker.inspect_image, image)
    labels: dict[str, Any] = ((info or {}).get("Config") or {}).get("Labels") or {}
    if labels.get(LABEL) != fp:
        report.warn(
            f"{image} is not a prebuild of this config (its label says "
            f"{shown(str(labels.get(LABEL) or 'nothing'))}); not used, building"
        )
        return None
    report.step(f"using the prebuild {image} (built from {source_text(labels)})")
    return Found(image)


def source_text(labels: dict[str, Any]) -> str:
    return shown(str(labels.get(LABEL_SOURCE) or "an unnamed source"))


def image_tag_ok(text: str) -> bool:
    return re.fullmatch(re.escape(TAG_PREFIX) + r"[0-9a-f]{16}-[a-z0-9]+", text) is not None
