"""The local Docker engine (or any engine DOCKER_HOST / the `host` option points at)."""

from __future__ import annotations

import asyncio

from pydantic import Field

from core.docker import DockerEndpoint, current_context_host
from core.host import HostSession, LocalHost, MachineJob
from providers.base import Provider, ProviderOptions


class DockerOptions(ProviderOptions):
    host: str | None = Field(
        default=None,
        description=(
            "Docker endpoint: unix:///path, tcp://host:port or ssh://user@host. "
            "Empty: DOCKER_HOST, else the current docker context, else the local socket."
        ),
    )


class DockerProvider(Provider):
    type_name = "docker"
    Options = DockerOptions

    def __init__(self, config: object) -> None:
        super().__init__(config)  # type: ignore[arg-type]
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

    async def check(self) -> str:
        await asyncio.to_thread(self._endpoint.ping)
        version = await asyncio.to_thread(self._endpoint.api().version)
        return f"Docker {version.get('Version', '?')} at {self._endpoint.label}"
