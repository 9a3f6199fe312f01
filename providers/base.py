"""What every provider is: a pydantic options model plus the machine lifecycle the engine uses."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from core.docker import DockerEndpoint
from core.errors import ProviderError
from core.host import HostSession, MachineJob
from core.model import LABEL_HOME, LABEL_WORKSPACE, ProviderConfig, Workspace


class ProviderOptions(BaseModel):
    """Base for a provider's options; the TUI wizard generates its form from the fields."""

    model_config = ConfigDict(extra="forbid")


class Provider:
    """Base class; subclasses set `type_name`, `Options` and implement the machine lifecycle."""

    type_name: ClassVar[str]
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.name = config.name
        self.options = self.validate_options(config.options, config.name)

    @classmethod
    def validate_options(cls, options: dict[str, Any], name: str = "") -> Any:
        try:
            return cls.Options.model_validate(options)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "options"
            fields = ", ".join(cls.Options.model_fields) or "none"
            raise ProviderError(
                f"provider {name or cls.type_name}: option {field}: {first['msg']}",
                f"options of a {cls.type_name} provider: {fields}",
            ) from None

    @classmethod
    async def suggestions(cls, field: str) -> list[str]:
        """Values to offer for an option in the setup form (e.g. regions listed live)."""
        return []

    dedicated_machine: ClassVar[bool] = False

    def folder_for(self, workspace: str) -> str | None:
        return None

    async def ensure_machine(self, job: MachineJob) -> None:
        return None

    async def open_host(self, job: MachineJob) -> HostSession:
        raise NotImplementedError

    async def stop_machine(self, job: MachineJob) -> None:
        return None

    async def delete_machine(self, job: MachineJob) -> None:
        return None

    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, dict[str, Any]]:
        """The provider's containers, by workspace: one container list call."""
        listed = await asyncio.to_thread(self.endpoint().list_containers, {LABEL_HOME: install_id})
        containers: dict[str, dict[str, Any]] = {}
        for item in sorted(listed, key=lambda c: c.get("Created", 0)):
            containers[(item.get("Labels") or {}).get(LABEL_WORKSPACE, "")] = item
        return containers

    def endpoint(self) -> DockerEndpoint:
        raise NotImplementedError

    async def check(self) -> str:
        """A connection test for `provider add` and the wizard: a one-line success message."""
        raise NotImplementedError
