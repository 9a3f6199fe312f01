"""`podbay prebuild`: make a source's prebuild on this computer's Docker and push it, and list
the prebuilds a repository holds (core/prebuild.py says what a prebuild is)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from podbay.core import images, prebuild, registry_access
from podbay.core import source as sources
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.values import shown
from podbay.core.docker import DockerEndpoint
from podbay.core.errors import ConfigError, PodbayError
from podbay.core.host import LocalHost
from podbay.core.images import Making, UpJob
from podbay.core.model import LABEL_HOME, Workspace
from podbay.core.registry import Registry
from podbay.core.reporter import Reporter
from podbay.core.store import Store
from podbay.core.workspace_config import load_config, plan_context

_META = "prebuild:"  # store meta: one record per prebuild pushed from here, by its image


@dataclass
class Pushed:
    image: str  # REPO:TAG
    digest: str
    fingerprint: str
    source: str
    pushed_at: float


async def make(
    store: Store,
    env: dict[str, str],
    docker: DockerEndpoint,
    source_text: str,
    repository: str,
    report: Reporter,
    config: str | None = None,
    login: registry_access.Lookup | None = None,
    cwd: Path | None = None,
) -> Pushed:
    """Build the prebuild of SOURCE (a folder, or a git URL cloned for the build) exactly as
    `up` builds its image, uid step excepted, and push it to `repository`."""
    source = sources.parse(source_text, cwd=cwd)
    if source.kind not in ("folder", "git"):
        raise ConfigError(
            f"a prebuild is made from a devcontainer.json; {source.display()} is an {source.kind}",
            "give a folder or a git URL whose project has .devcontainer/devcontainer.json",
        )
    name = sources.default_name(source)
    with tempfile.TemporaryDirectory(prefix="podbay-prebuild-") as tmp:
        host = LocalHost(docker)
        folder = source.value
        if source.kind == "git":
            folder = str(Path(tmp) / "source")
            report.step(f"cloning {source.display()}")
            await sources.materialize(source, folder, host, report.log)
        ws = Workspace(
            name=name,
            provider="",
            source=source,
            folder=folder,
            owned_folder=False,
            folder_name=sources.folder_name(source, name),
            config_arg=config,
            container_name="",
        )
        config_path, raw, warnings = load_config(Path(folder), config, None)
        for warning in warnings:
            report.warn(warning)
        ws.config_path = str(config_path) if config_path else None
        install_id = store.install_id()
        ctx = plan_context(ws, install_id, env).model_copy(
            update={
                "labels": {LABEL_HOME: install_id},
                "image_name": f"podbay-prebuild-{install_id[:6]}",
            }
        )
        resolved = dcplan.resolve(raw, ctx)
        assert config_path is not None
        local_dir = config_path.parent
        parts = await asyncio.to_thread(images.file_parts, resolved, local_dir, config_path)
        resolved.fingerprint.update(parts)
        if resolved.compose is not None:
            raise ConfigError(
                "a Docker Compose config has no prebuild here",
                "build and push the service's image with docker compose, and name it in the "
                "compose file",
            )
        if resolved.config.initializeCommand:
            report.warn("its initializeCommand is not run for a prebuild (only by up)")
        fp = prebuild.fingerprint(resolved)
        arch = await asyncio.to_thread(prebuild.engine_arch, docker)
        image = f"{repository}:{prebuild.tag(fp, arch)}"
        shown = source.display()
        job = UpJob(ws, host, resolved, ctx, Path(folder), local_dir, report, store.root, env)
        labels = {LABEL_HOME: install_id, prebuild.LABEL: fp, prebuild.LABEL_SOURCE: shown}
        job.making = Making(image, labels)
        plan = await images.prepare_image(job)
        assert plan.extension is not None and plan.extension.tag == image
    report.step(f"pushing {image}")
    registry = registry_access.registry_of(image)
    found = await login(registry) if login is not None else None
    report.bind_loop()
    digest = await asyncio.to_thread(docker.push, image, report.log_threadsafe, found)
    pushed = Pushed(image, digest, fp, shown, time.time())
    store.set_meta(_META + image, json.dumps(asdict(pushed)))
    return pushed


def pushed_here(store: Store) -> list[Pushed]:
    """The prebuilds pushed from this computer, newest first."""
    found = []
    for value in store.meta_with_prefix(_META).values():
        with contextlib.suppress(ValueError, TypeError):
            found.append(Pushed(**json.loads(value)))
    return sorted(found, key=lambda p: -p.pushed_at)


@dataclass
class Listed:
    image: str
    fingerprint: str
    source: str
    created: str
    size: int  # bytes, compressed layers


_MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def listing(repository: str, env: dict[str, str], login: tuple[str, str] | None) -> list[Listed]:
    """The prebuilds a repository holds (its podbay-* tags), read from the registry."""
    registry_host, _, path = repository.partition("/")
    if login is not None:  # the reference CLI's variable: one registry's user and token
        env = {**env, "DEVCONTAINERS_OCI_AUTH": f"{registry_host}|{login[0]}|{login[1]}"}
    client = Registry(env)
    answer = client.get(registry_host, path, "tags/list", "application/json")
    if answer.status_code == 404:
        return []
    try:
        tags = [str(t) for t in (answer.json().get("tags") or [])]
    except (ValueError, AttributeError):
        tags = []
    if answer.status_code != 200:
        raise PodbayError(
            f"{registry_host} answered {answer.status_code} for the tags of {path}",
            "check the repository's name, and that you may read it",
        )
    found = []
    for tag in sorted(t for t in tags if prebuild.image_tag_ok(t)):
        with contextlib.suppress(KeyError, ValueError, TypeError, AttributeError):
            found.append(_listed(client, registry_host, path, repository, tag))
    return found


def _listed(client: Registry, host: str, path: str, repository: str, tag: str) -> Listed:
    """One prebuild's labels, date and size (an index: its first image's)."""
    data: dict[str, Any] = client.get(host, path, f"manifests/{tag}", _MANIFESTS).json()
    if "manifests" in data:
        first = str(data["manifests"][0]["digest"])
        data = client.get(host, path, f"manifests/{first}", _MANIFESTS).json()
    image_config: dict[str, Any] = json.loads(
        client.blob(host, path, str(data["config"]["digest"]))
    )
    labels = (image_config.get("config") or {}).get("Labels") or {}
    created = str(image_config.get("created") or "")[:19].replace("T", " ")
    return Listed(
        image=f"{repository}:{tag}",
        fingerprint=shown(str(labels.get(prebuild.LABEL) or "")),
        source=prebuild.source_text(labels) if labels.get(prebuild.LABEL_SOURCE) else "",
        created=shown(created),
        size=sum(int(layer.get("size") or 0) for layer in data.get("layers") or []),
    )
