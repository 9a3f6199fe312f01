"""A workspace's devcontainer config as read now: in place or from a copy, and resolved."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

from podbay.core import images
from podbay.core.devcontainer import config as dcconfig
from podbay.core.devcontainer import files as dcfiles
from podbay.core.devcontainer import find as dcfind
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.plan import PlanContext
from podbay.core.errors import SourceError
from podbay.core.host import HostSession
from podbay.core.model import LABEL_HOME, LABEL_RECORD, LABEL_WORKSPACE, Workspace, record_label


def load_config(
    folder: Path, explicit: str | None, image: str | None, files: dcfiles.Files = dcfiles.LOCAL
) -> tuple[Path | None, dict[str, Any], list[str]]:
    """(config file, its raw content, warnings); an --image stands in for a config file."""
    if not files.is_dir(folder):
        raise SourceError(
            f"folder {folder} does not exist", "was it moved? podbay delete NAME, then up again"
        )
    if image is not None:
        return None, {"image": image}, []
    path = dcfind.find(folder, explicit, files)
    loaded = dcconfig.load(path, files)
    return path, loaded.raw, loaded.warnings


def plan_context(ws: Workspace, install_id: str, env: dict[str, str]) -> PlanContext:
    """What planning knows about the workspace besides its config."""
    return PlanContext(
        name=ws.name,
        local_folder=ws.folder,
        config_file=ws.config_path,
        container_name=ws.container_name,
        labels={
            LABEL_HOME: install_id,
            LABEL_WORKSPACE: ws.name,
            LABEL_RECORD: record_label(ws),
        },
        env=env,
        image_name=images.image_name(ws.name, install_id),
        folder_name=ws.folder_name or "",
        folder_rel=ws.folder_rel,
        mount_folder=mount_folder(ws.folder, ws.folder_rel),
    )


def mount_folder(folder: str, rel: str) -> str:
    """What is mounted for a workspace's `folder`: it, or the git root it is `rel` below."""
    mounted = PurePosixPath(folder)
    for _ in PurePosixPath(rel).parts if rel else ():
        mounted = mounted.parent
    return str(mounted)


@contextlib.asynccontextmanager
async def config_files(
    ws: Workspace, host: HostSession
) -> AsyncIterator[tuple[dcfiles.Files, Path]]:
    """The config's files as this computer reads them: in place, or (for a folder on
    another machine) a copy of its devcontainer files that lives for this operation."""
    if host.local:
        yield dcfiles.LOCAL, Path(ws.folder)
        return
    with tempfile.TemporaryDirectory(prefix="podbay-config-") as tmp:
        copy = Path(tmp) / "source"
        await host.copy_out(ws.folder, list(dcfind.CONFIG_ENTRIES), copy)
        yield dcfiles.Files.copy_of(ws.folder, copy), copy


def read_dir(ws: Workspace, files: dcfiles.Files, copy: Path) -> Path:
    """The config's folder as read here: itself, or its place in the copy of another
    machine's files."""
    if not ws.config_path:
        return copy
    if files.local:
        return Path(ws.config_path).parent  # anywhere, as the reference CLI allows
    return copy / Path(ws.config_path).parent.relative_to(ws.folder)


def resolve_now(
    ws: Workspace,
    install_id: str,
    env: dict[str, str],
    files: dcfiles.Files = dcfiles.LOCAL,
    copy: Path | None = None,
) -> dcplan.Resolved:
    """The workspace's config as it is now (for drift), its files' fingerprint included."""
    _, raw, _ = load_config(Path(ws.folder), ws.config_arg, ws.image, files)
    resolved = dcplan.resolve(raw, plan_context(ws, install_id, env))
    assert ws.config_path is not None
    config_file = Path(ws.config_path)
    local_dir = read_dir(ws, files, copy or Path(ws.folder))
    resolved.fingerprint.update(images.file_parts(resolved, local_dir, config_file))
    return resolved
