"""A workspace's live status from its record, its lock and what its provider reports, and
whether its config changed since its container was made (drift)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from podbay.core.devcontainer import plan as dcplan
from podbay.core.model import Status, Workspace, WorkspaceStatus
from podbay.core.provider import MachineState


class PollResult(BaseModel):
    statuses: list[WorkspaceStatus]
    provider_errors: dict[str, str | None]  # None: the provider answered
    # Not asked: a provider with a machine per workspace and no workspace has nothing to poll
    # (whether it can be reached is then its check's to say).
    unasked: list[str] = []


def status_of(
    ws: Workspace,
    states: dict[str, MachineState] | str,
    holder: str | None,
    changed: list[str],
) -> WorkspaceStatus:
    """The status shown for `ws`: `states` is what its provider answered (or why not),
    `holder` what holds its lock, `changed` the parts of its config that drifted."""
    if holder is not None:
        return WorkspaceStatus(workspace=ws, status=Status.BUSY, detail=holder)
    if isinstance(states, str):
        return WorkspaceStatus(workspace=ws, status=Status.ERROR, detail=states)
    found = states.get(ws.name)
    state = found.state if found else None
    image = found.image if found else None
    if ws.phase == "failed":
        return WorkspaceStatus(
            workspace=ws,
            status=Status.ERROR,
            detail=ws.error or "its last `up` failed",
            fix="up",
            container_state=state,
            image=image,
        )
    if ws.phase == "creating":
        return WorkspaceStatus(
            workspace=ws,
            status=Status.INCOMPLETE,
            detail="its last `up` was interrupted before it finished",
            fix="up",
            container_state=state,
            image=image,
        )
    if found is None:
        what = "machine" if ws.machine.own else "container"
        return WorkspaceStatus(
            workspace=ws, status=Status.NOT_FOUND, detail=f"its {what} is gone", fix="up"
        )
    return WorkspaceStatus(
        workspace=ws,
        status=found.status,
        container_state=state,
        image=image,
        detail=found.detail,
        machine=found.machine,
        changed=changed,
    )


class Drift:
    """Which parts of each workspace's config changed since its container was made; read
    again only when a file in the config's folder changed."""

    # A config on a workspace's own machine is read over SSH: at most this often, in the
    # background, so a poll never waits for a machine.
    MACHINE_EVERY = 60.0

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, list[str]]] = {}
        self._machine: dict[str, tuple[float, list[str]]] = {}
        self._asking: dict[str, asyncio.Task[None]] = {}

    def on_machine(self, ws: Workspace, ask: Callable[[], Awaitable[list[str]]]) -> list[str]:
        """The last answer for a workspace whose config is on its own machine ([] before the
        first); asks again in the background when that answer is older than MACHINE_EVERY."""
        last = self._machine.get(ws.name)
        due = last is None or time.monotonic() - last[0] > self.MACHINE_EVERY
        if due and ws.name not in self._asking:
            self._asking[ws.name] = asyncio.get_running_loop().create_task(self._ask(ws, ask))
        return last[1] if last else []

    async def _ask(self, ws: Workspace, ask: Callable[[], Awaitable[list[str]]]) -> None:
        last = self._machine.get(ws.name)
        try:
            changed = await asyncio.wait_for(ask(), 60)
        except Exception:  # a machine that does not answer: no news (drift is a hint)
            changed = last[1] if last else []
        finally:
            self._asking.pop(ws.name, None)
        self._machine[ws.name] = (time.monotonic(), changed)

    async def settled(self) -> None:
        """Wait for the questions in flight (for a caller that wants the answer now)."""
        while self._asking:
            await asyncio.wait(list(self._asking.values()))

    def changed(
        self,
        ws: Workspace,
        before: str | None,
        resolve: Callable[[Workspace], dcplan.Resolved],
    ) -> list[str]:
        """[] when unknown: no fingerprint (`before`: the container's), or the config cannot be
        read (drift is a hint; it never stops a poll). For a config on this computer."""
        if not before or not ws.config_path:
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
