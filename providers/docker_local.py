"""The local Docker engine (or any engine DOCKER_HOST / the `host` option points at)."""

from __future__ import annotations

import asyncio
import json
import os
from hashlib import sha256
from pathlib import Path

from pydantic import Field

from core.docker import DockerEndpoint
from core.host import HostSession, LocalHost
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

    def endpoint(self) -> DockerEndpoint:
        return self._endpoint

    async def open_host(self, workspace: str) -> HostSession:
        return LocalHost(self._endpoint)

    async def check(self) -> str:
        await asyncio.to_thread(self._endpoint.ping)
        version = await asyncio.to_thread(self._endpoint.api().version)
        return f"Docker {version.get('Version', '?')} at {self._endpoint.label}"


def current_context_host() -> str | None:
    """DOCKER_HOST, else the endpoint of the docker CLI's current context, else None."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    config_dir = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    context = os.environ.get("DOCKER_CONTEXT")
    if not context:
        try:
            context = json.loads((config_dir / "config.json").read_text()).get("currentContext")
        except (OSError, ValueError):
            context = None
    if not context or context == "default":
        return None
    meta = config_dir / "contexts" / "meta" / sha256(context.encode()).hexdigest() / "meta.json"
    try:
        host = json.loads(meta.read_text())["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(host) if host else None
