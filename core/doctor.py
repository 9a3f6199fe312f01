"""`podbay doctor --rebuild-state`: the workspace records made again from what outlives them.

A damaged or lost podbay.db forgets the records, not the work: containers carry podbay's labels
(which home, which workspace, where its source is, how it was made), `sources/` holds the
clones, `keys/` the SSH keys. Nothing is deleted: the damaged file is kept beside the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from podbay.core import paths
from podbay.core.devcontainer.plan import ONCE_HOOKS, container_name
from podbay.core.devcontainer.values import WORKSPACE_NAME
from podbay.core.docker import DockerEndpoint
from podbay.core.model import (
    LABEL_HOME,
    LABEL_RECORD,
    LABEL_WORKSPACE,
    ProviderConfig,
    Source,
    Workspace,
)
from podbay.core.store import Store

REBUILT = "its record was rebuilt by podbay doctor"


@dataclass
class Rebuilt:
    kept_as: Path | None  # where the damaged state file was moved
    from_old_file: list[str] = field(default_factory=list)  # records still readable in it
    from_containers: list[str] = field(default_factory=list)
    from_folders: list[str] = field(default_factory=list)
    other_homes: list[str] = field(default_factory=list)  # install ids seen but not ours


def set_aside(root: Path) -> Path | None:
    """Move podbay.db (and its -wal, -shm) aside, never deleting them; the new name, or None."""
    db_file = paths.db_file(root)
    if not db_file.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = db_file.with_name(f"podbay.db.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = db_file.with_name(db_file.name + suffix)
        if part.exists():
            part.rename(kept.with_name(kept.name + suffix))
    return kept


def rebuild_state(root: Path, docker: DockerEndpoint) -> Rebuilt:
    """Set the state file aside and make the records again: whatever of the old file can still
    be read (settings, providers, records), then the local engine's containers and `sources/`.
    The engine must answer (the caller checks): without it every container would look foreign.
    """
    containers = docker.list_containers({LABEL_WORKSPACE: None})
    result = Rebuilt(kept_as=set_aside(root))
    old = _readable(result.kept_as) if result.kept_as else _Old()
    store = Store(root, new_state=True)
    for key, value in old.meta.items():
        store.set_meta(key, value)
    for provider in old.providers:
        store.save_provider(provider)
    mine = old.meta.get("install_id") or _our_install_id(root, containers, result)
    if mine is not None:
        store.set_meta("install_id", mine)
        result.other_homes = sorted(
            {str((c.get("Labels") or {}).get(LABEL_HOME)) for c in containers} - {mine}
        )
    newest: dict[str, dict[str, Any]] = {}
    for item in sorted(containers, key=lambda c: c.get("Created", 0)):
        labels = item.get("Labels") or {}
        name = labels.get(LABEL_WORKSPACE, "")
        if mine is not None and labels.get(LABEL_HOME) == mine and WORKSPACE_NAME.fullmatch(name):
            newest[name] = item
    for ws in old.workspaces:  # a record that could still be read is kept as it was
        store.insert_workspace(ws)
        result.from_old_file.append(ws.name)
    for name, item in sorted(newest.items()):
        if name in result.from_old_file:
            continue
        info = docker.inspect_container(item["Id"])
        store.insert_workspace(_from_container(root, name, item, info or {}))
        result.from_containers.append(name)
    sources = paths.sources_dir(root)
    for folder in sorted(sources.iterdir()):
        name = folder.name
        known = name in newest or name in result.from_old_file
        if known or not WORKSPACE_NAME.fullmatch(name) or not folder.is_dir():
            continue
        store.insert_workspace(_from_folder(folder, container_name(name, store.install_id())))
        result.from_folders.append(name)
    store.close()
    return result


@dataclass
class _Old:
    meta: dict[str, str] = field(default_factory=dict)
    providers: list[ProviderConfig] = field(default_factory=list)
    workspaces: list[Workspace] = field(default_factory=list)


def _readable(path: Path) -> _Old:
    """What can still be read from a damaged state file, row by row; the rest is skipped."""
    old = _Old()
    try:
        db = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro", uri=True)
    except sqlite3.Error:
        return old
    with contextlib.closing(db):
        for key, value in _rows(db, "SELECT key, value FROM meta"):
            old.meta[str(key)] = str(value)
        for _, data in _rows(db, "SELECT name, data FROM providers"):
            with contextlib.suppress(ValueError):
                old.providers.append(ProviderConfig.model_validate_json(data))
        for _, data in _rows(db, "SELECT name, data FROM workspaces"):
            with contextlib.suppress(ValueError):
                old.workspaces.append(Workspace.model_validate_json(data))
    return old


def _rows(db: sqlite3.Connection, query: str) -> list[tuple[Any, Any]]:
    try:
        return [(row[0], row[1]) for row in db.execute(query).fetchall()]
    except sqlite3.Error:
        return []


def _our_install_id(root: Path, containers: list[dict[str, Any]], result: Rebuilt) -> str | None:
    """The install id of this home: the one whose workspaces have keys or clones here."""
    votes: dict[str, int] = {}
    for item in containers:
        labels = item.get("Labels") or {}
        home, name = labels.get(LABEL_HOME, ""), labels.get(LABEL_WORKSPACE, "")
        if not home:
            continue
        votes.setdefault(home, 0)
        ours = (root / "keys" / name).is_dir() or str(
            labels.get("devcontainer.local_folder", "")
        ).startswith(str(root / "sources") + "/")
        votes[home] += int(ours and WORKSPACE_NAME.fullmatch(name) is not None)
    ranked = sorted(votes, key=lambda h: votes[h], reverse=True)
    if not ranked or votes[ranked[0]] == 0:
        result.other_homes = ranked
        return None
    result.other_homes = ranked[1:]
    return ranked[0]


def _from_container(root: Path, name: str, item: dict[str, Any], info: dict[str, Any]) -> Workspace:
    labels = item.get("Labels") or {}
    folder = str(labels.get("devcontainer.local_folder") or paths.sources_dir(root) / name)
    try:
        record = json.loads(labels.get(LABEL_RECORD) or "{}")
    except ValueError:
        record = {}
    source = _source(record.get("source"), Path(folder), labels.get("dev.podbay.image", ""))
    config_file = labels.get("devcontainer.config_file")
    container_id = str(item["Id"])
    folder_name, folder_rel = _folder_name(record.get("folder"))
    room = record.get("room")
    return Workspace(
        room=room if isinstance(room, str) and name.startswith(room) else None,
        folder_name=folder_name,
        folder_rel=folder_rel,
        name=name,
        provider="docker",
        source=source,
        folder=folder,
        owned_folder=Path(folder).parent == paths.sources_dir(root),
        config_path=config_file,
        # The file it was made from, by its full path: `up NAME` finds it again.
        config_arg=record.get("config") and config_file,
        image=record.get("image") or (source.value if source.kind == "image" else None),
        container_name=str((item.get("Names") or [f"/{name}"])[0]).lstrip("/"),
        container_id=container_id,
        phase="failed",
        error=REBUILT,
        # The container's once-hooks ran when it was made; they are not run again.
        hooks_container=container_id,
        hooks_done=list(ONCE_HOOKS),
        post_start_at=str((info.get("State") or {}).get("StartedAt") or "") or None,
    )


def _folder_name(value: Any) -> tuple[str | None, str]:
    """The record's [folder name, path below it] (none in containers of older podbays)."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        name, rel = value
        if name and "/" not in name and ".." not in PurePosixPath(rel).parts:
            return name, rel
    return None, ""


def _from_folder(folder: Path, container: str) -> Workspace:
    source = _source(None, folder, "")
    return Workspace(
        name=folder.name,
        provider="docker",
        source=source,
        folder=str(folder),
        owned_folder=True,
        image=source.value if source.kind == "image" else None,
        container_name=container,
        phase="failed",
        error=f"{REBUILT}; it has no container yet",
    )


def _source(label: Any, folder: Path, image: str) -> Source:
    """The source from the record label; else what the folder says (a clone's origin)."""
    origin = _origin(folder)
    if isinstance(label, dict) and label.get("kind") in ("folder", "git", "image", "template"):
        value = str(label.get("value") or "")
        if label["kind"] == "git" and origin and "***" in value:
            value = origin  # the label hides credentials; the clone's own config has the URL
        return Source(kind=label["kind"], value=value, ref=label.get("ref"))
    if origin:
        return Source(kind="git", value=origin)
    return Source(kind="image", value=image or "unknown")


def _origin(folder: Path) -> str | None:
    """The clone's origin URL, read from its config (reading runs nothing in the folder)."""
    if not (folder / ".git").exists():
        return None
    try:
        done = subprocess.run(
            [
                "git",
                "-c",
                f"safe.directory={folder}",
                "-C",
                str(folder),
                "config",
                "--get",
                "remote.origin.url",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None
