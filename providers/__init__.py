"""Provider registry: type name -> class, imported lazily so `podbay` starts fast."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from podbay.core.errors import UnknownProvider
from podbay.core.model import ProviderConfig

if TYPE_CHECKING:
    from podbay.core.provider import Provider

TYPES: dict[str, str] = {
    "docker": "podbay.providers.docker_local:DockerProvider",
    "aws": "podbay.providers.aws.provider:AwsProvider",
    "ssh": "podbay.providers.ssh:SshProvider",
}


def provider_class(type_name: str) -> type[Provider]:
    target = TYPES.get(type_name)
    if target is None:
        raise UnknownProvider(
            f"unknown provider type {type_name!r}",
            f"known types: {', '.join(sorted(TYPES))}",
        )
    module_name, class_name = target.split(":")
    cls: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    return cls


def load(config: ProviderConfig) -> Provider:
    """An instance of the configured provider, with validated options."""
    return provider_class(config.type)(config)
