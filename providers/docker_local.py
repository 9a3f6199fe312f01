"""The local Docker engine (or any engine DOCKER_HOST / the `host` option points at)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from podbay.core.devcontainer.plan import LABEL_FINGERPRINT
from podbay.core.docker import DockerEndpoint, current_context_host
from podbay.core.host import HostSession, LocalHost
from podbay.core.model import LABEL_HOME, LABEL_WORKSPACE, ProviderConfig, Status, Workspace
from podbay.core.provider import MachineJob, MachineState, Provider, ProviderOptions

# docker's container states as podbay shows them; the rest (created, exited, dead) is stopped.
STATUS = {
    "running": Status.RUNNING,
    "paused": Status.RUNNING,
    "restarting": Status.BUSY,
    "removing": Status.BUSY,
}


class DockerOptions(ProviderOptions):
    host: str | None = Field(
        json_schema_extra={"group": "Connection"},
        default=None,
        description=(
            "Docker endpoint: unix:///path, tcp://host:port or ssh://user@host. "
            "Empty: DOCKER_HOST, else the current docker context, else the local socket."
        ),
    )


class DockerProvider(Provider):
    type_name = "docker"
    description = "containers on this computer's Docker engine, or another one (tcp://, ssh://)"
    Options = DockerOptions
    options: DockerOptions

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._endpoint = DockerEndpoint(self.options.host or current_context_host())

    @classmethod
    async def suggestions(cls, field: str) -> list[str]:
        if field == "host":
            return ["unix:///var/run/docker.sock", "tcp://HOST:2375", "ssh://USER@HOST"]
        return []

    def endpoint(self) -> DockerEndpoint:
        return self._endpoint

    async def open_host(self, job: MachineJob) -> HostSession:
        return LocalHost(self._endpoint)

    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, MachineState]:
        """The provider's containers, by workspace: one container list call."""
        listed = await asyncio.to_thread(self._endpoint.list_containers, {LABEL_HOME: install_id})
        states: dict[str, MachineState] = {}
        for item in sorted(listed, key=lambda c: c.get("Created", 0)):  # the newest wins
            labels = item.get("Labels") or {}
            states[labels.get(LABEL_WORKSPACE, "")] = container_state(item, labels)
        return states

    async def check(self) -> str:
        await asyncio.to_thread(self._endpoint.ping)
        version = await asyncio.to_thread(self._endpoint.api().version)
        return f"Docker {version.get('Version', '?')} at {self._endpoint.label}"


def container_state(item: dict[str, Any], labels: dict[str, str]) -> MachineState:
    state = str(item.get("State") or "")
    return MachineState(
        status=STATUS.get(state, Status.STOPPED),
        state=state,
        detail=str(item.get("Status", "")),
        image=item.get("Image"),
        fingerprint=labels.get(LABEL_FINGERPRINT),
    )
