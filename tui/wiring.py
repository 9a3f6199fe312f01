"""Where the fronts get podbay's state and engine: the one place they are put together."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podbay.core.engine import Engine
    from podbay.core.provider_admin import ProviderAdmin
    from podbay.core.store import Store


def open_store() -> Store:
    """The state in PODBAY_HOME, with the local Docker provider on a first run."""
    from podbay.core.store import Store

    store = Store()
    store.ensure_defaults()
    return store


def open_engine(origin: str = "CLI") -> Engine:
    from podbay import providers
    from podbay.core.engine import Engine
    from podbay.core.ssh.setup import refresh_ssh_config

    store = open_store()
    refresh_ssh_config(store)  # `ssh NAME.podbay` keeps working across an upgrade
    return Engine(store, providers.load, origin=origin)


def open_providers() -> ProviderAdmin:
    """The configured providers and the rules for adding, removing and choosing them."""
    from podbay import providers
    from podbay.core.provider_admin import ProviderAdmin

    return ProviderAdmin(open_store(), providers.load)
