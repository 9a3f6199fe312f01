"""Live status of every workspace, one provider call each, and config drift read where it runs."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path

from podbay.core.devcontainer import files as dcfiles
from podbay.core.devcontainer import plan as dcplan
from podbay.core.errors import PodbayError
from podbay.core.model import Status, Workspace, WorkspaceStatus
from podbay.core.provider import MachineState
from podbay.core.provider_admin import ProviderAdmin
from podbay.core.reporter import Reporter
from podbay.core.status import Drift, PollResult, status_of
from podbay.core.store import Store
from podbay.core.workspace_config import config_files, resolve_now
from podbay.core.workspace_host import find_container, machine_job, open_host

Polled = dict[str, dict[str, MachineState] | str]  # provider name -> its states, or its error


class Poller:
    """Polls the providers for the engine; keeps the drift answers between polls."""

    def __init__(self, store: Store, providers: ProviderAdmin, env: dict[str, str]) -> None:
        self.store = store
        self.providers = providers
        self.env = env
        self._drift = Drift()

    async def poll(self, drift: bool = False) -> PollResult:
        """Live status of every workspace and whether each provider answers (see Engine.poll)."""
        # Reading and validating hundreds of records, and probing their locks, happens in a
        # thread: a TUI polling on its event loop must not stall key handling.
        workspaces = await asyncio.to_thread(self.store.workspaces)
        names = {p.name for p in self.store.providers()} | {ws.provider for ws in workspaces}

        install_id = self.store.install_id()

        unasked: list[str] = []

        async def poll_one(provider_name: str) -> tuple[str, dict[str, MachineState] | str]:
            mine = [ws for ws in workspaces if ws.provider == provider_name]
            try:
                provider = self.providers.get(provider_name)
                if not mine and provider.dedicated_machine:
                    unasked.append(provider_name)
                    return provider_name, {}
                return provider_name, await provider.poll(install_id, mine)
            except PodbayError as exc:
                return provider_name, exc.message

        polled = dict(await asyncio.gather(*(poll_one(p) for p in sorted(names))))

        holders = await asyncio.to_thread(
            lambda: {ws.name: self.store.lock_holder(ws.name) for ws in workspaces}
        )
        # A machine's config is read over SSH, in the background, and not while an operation
        # holds the workspace.
        on_machines = {
            ws.name: self._drift.on_machine(ws, functools.partial(self.machine_drift, ws))
            for ws in workspaces
            if drift
            and ws.machine
            and holders[ws.name] is None
            and ws.phase == "ready"
            and self._running(polled, ws)
        }

        def one(ws: Workspace) -> WorkspaceStatus:
            found = polled[ws.provider]
            state = found.get(ws.name) if isinstance(found, dict) else None
            holder = holders[ws.name]
            # Drift is shown for a finished workspace with its container; not worked out else.
            shown = drift and holder is None and ws.phase == "ready" and state is not None
            if ws.name in on_machines:
                changed = on_machines[ws.name] if shown else []
            elif shown and state is not None:
                changed = self._drift.changed(ws, state.fingerprint, self._resolve)
            else:
                changed = []
            return status_of(ws, found, holder, changed)

        statuses = await asyncio.to_thread(lambda: [one(ws) for ws in workspaces])
        return PollResult(
            statuses=statuses,
            provider_errors={
                name: result if isinstance(result, str) else None
                for name, result in polled.items()
                if name not in unasked
            },
            unasked=sorted(unasked),
        )

    @staticmethod
    def _running(polled: Polled, ws: Workspace) -> bool:
        found = polled.get(ws.provider)
        state = found.get(ws.name) if isinstance(found, dict) else None
        return state is not None and state.status == Status.RUNNING

    def _resolve(
        self, ws: Workspace, files: dcfiles.Files = dcfiles.LOCAL, copy: Path | None = None
    ) -> dcplan.Resolved:
        """The workspace's config as it is now (for drift), its files' fingerprint included."""
        return resolve_now(ws, self.store.install_id(), self.env, files, copy)

    async def machine_drift(self, ws: Workspace) -> list[str]:
        """Drift read where the workspace runs: its container's fingerprint and its config (on
        its own machine, over one connection)."""
        provider = self.providers.get(ws.provider)
        job = machine_job(self.store, ws, Reporter(self.store.root, ws.name, None))
        async with open_host(provider, job) as host:
            container = await find_container(host.docker, self.store.install_id(), ws.name)
            before = ((container or {}).get("Labels") or {}).get(dcplan.LABEL_FINGERPRINT)
            if not before or not ws.config_path:
                return []
            async with config_files(ws, host) as (files, copy):
                resolved = await asyncio.to_thread(self._resolve, ws, files, copy)
        return dcplan.changed_parts(json.loads(before), resolved.fingerprint)
