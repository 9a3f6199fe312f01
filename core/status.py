"""A workspace's live status from its record, its lock and what its provider reports, and
whether its config changed since its container was made (drift)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.devcontainer import plan as dcplan
from core.model import Status, Workspace, WorkspaceStatus


class PollResult(BaseModel):
    statuses: list[WorkspaceStatus]
    provider_errors: dict[str, str | None]  # None: the provider answered


def status_of(
    ws: Workspace,
    containers: dict[str, dict[str, Any]] | str,
    holder: str | None,
    changed: list[str],
) -> WorkspaceStatus:
    """The status shown for `ws`: `containers` is what its provider answered (or why not),
    `holder` what holds its lock, `changed` the parts of its config that drifted."""
    if holder is not None:
        return WorkspaceStatus(workspace=ws, status=Status.BUSY, detail=holder)
    if isinstance(containers, str):
        return WorkspaceStatus(workspace=ws, status=Status.ERROR, detail=containers)
    container = containers.get(ws.name)
    state = container.get("State") if container else None
    image = container.get("Image") if container else None
    machine = container.get("Machine") if container else None
    if ws.phase == "failed":
        detail = f"{ws.error}; run: podbay up {ws.name}"
        return WorkspaceStatus(
            workspace=ws, status=Status.ERROR, detail=detail, container_state=state, image=image
        )
    if ws.phase == "creating":
        return WorkspaceStatus(
            workspace=ws,
            status=Status.ERROR,
            detail=f"`up` was interrupted; finish it with: podbay up {ws.name}",
            container_state=state,
            image=image,
        )
    if container is None:
        what = "machine" if ws.machine else "container"
        return WorkspaceStatus(
            workspace=ws,
            status=Status.NOT_FOUND,
            detail=f"its {what} is gone; recreate it with: podbay up {ws.name}",
        )
    status = {
        "running": Status.RUNNING,
        "paused": Status.RUNNING,
        "restarting": Status.BUSY,
        "removing": Status.BUSY,
    }.get(str(state), Status.STOPPED)
    return WorkspaceStatus(
        workspace=ws,
        status=status,
        container_state=state,
        image=image,
        detail=str(container.get("Status", "")),
        machine=machine,
        changed=changed,
    )


class Drift:
    """Which parts of each workspace's config changed since its container was made; read
    again only when a file in the config's folder changed."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, list[str]]] = {}

    def changed(
        self,
        ws: Workspace,
        container: dict[str, Any] | None,
        resolve: Callable[[Workspace], dcplan.Resolved],
    ) -> list[str]:
        """[] when unknown: no container or fingerprint, the config is on another machine,
        or it cannot be read (drift is a hint; it never stops a poll)."""
        before = ((container or {}).get("Labels") or {}).get(dcplan.LABEL_FINGERPRINT)
        if not before or not ws.config_path or ws.machine:
            return []
        config_dir = Path(ws.config_path).parent
        try:
            signature = tuple(
                (str(p), p.stat().st_mtime_ns, p.stat().st_size)
                for p in sorted(config_dir.rglob("*"))
                if p.is_file()
            )
        except OSError:
            return []
        key = (before, signature)
        cached = self._cache.get(ws.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            changed = dcplan.changed_parts(json.loads(before), resolve(ws).fingerprint)
        except Exception:  # a config that cannot be read now: no drift shown, the poll goes on
            changed = []
        self._cache[ws.name] = (key, changed)
        return changed
