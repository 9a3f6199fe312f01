"""Adding, changing, removing and choosing providers: the rules the CLI and the TUI both follow.

The first provider added becomes the default; a provider that workspaces live on cannot be
removed; removing the default makes the next one (by name) the default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podbay.core.devcontainer.values import WORKSPACE_NAME, printable
from podbay.core.errors import PodbayError
from podbay.core.model import ProviderConfig
from podbay.core.provider import Confirm, Provider
from podbay.core.store import Store

ProviderFactory = Callable[[ProviderConfig], Provider]
DEFAULT = "default_provider"  # the store's meta key


class ProviderAdmin:
    """The configured providers of one podbay home, built on first use and kept."""

    def __init__(self, store: Store, factory: ProviderFactory) -> None:
        self.store = store
        self.factory = factory
        self._built: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        if name not in self._built:
            self._built[name] = self.factory(self.store.require_provider(name))
        return self._built[name]

    def default(self) -> str | None:
        return self.store.get_meta(DEFAULT) or None

    def reader(self, reference: str, named: str = "") -> str | None:
        """Which provider reads a secret reference: the one it names, else the first that reads
        such references (the default first); None when none does."""
        if named:
            return named
        default = self.default()
        names = sorted((c.name for c in self.store.providers()), key=lambda n: n != default)
        return next((n for n in names if reference.startswith(self.get(n).secret_kinds)), None)

    def find(self, name: str) -> Provider:
        """The provider called NAME, or the only provider of type NAME."""
        config = self.store.provider(name)
        if config is None:
            of_type = [p for p in self.store.providers() if p.type == name]
            if len(of_type) == 1:
                config = of_type[0]
        if config is None:
            raise PodbayError(f"no provider named {name!r}", "see: podbay provider list")
        return self.get(config.name)

    async def add(
        self,
        config: ProviderConfig,
        *,
        check: bool = True,
        use: bool = False,
        confirm: Confirm | None = None,
    ) -> str:
        """Add a new provider (its options validated, what it learns filled in, e.g. a host
        key `confirm` accepted; its connection tested unless `check` is off); returns the
        test's one-line answer ("" when not tested)."""
        if not WORKSPACE_NAME.fullmatch(config.name):
            raise PodbayError(
                f"invalid provider name {printable(config.name)}",
                "use lower-case letters, digits and '-', e.g. --name build-box",
            )
        if self.store.provider(config.name) is not None:
            raise PodbayError(
                f"a provider named {config.name!r} exists",
                f"choose another --name, or: podbay provider set {config.name}",
            )
        options = await self.factory(config).prepare(confirm, self.store.install_id())
        config = config.model_copy(update={"options": options})
        checked = await self.factory(config).check() if check else ""
        self.save(config, use=use)
        return checked

    def save(self, config: ProviderConfig, *, use: bool = False) -> None:
        """Store a provider, new or with new options (validated); the first one, or with
        `use`, becomes the default."""
        self.factory(config)  # validates the options
        self.store.save_provider(config)
        self._built.pop(config.name, None)
        if use or self.default() is None:
            self.store.set_meta(DEFAULT, config.name)

    async def update(
        self, name: str, changes: dict[str, Any], confirm: Confirm | None = None
    ) -> ProviderConfig:
        """Change some options (a None value removes one); what the provider learns from them
        is filled in, as when it is added."""
        config = self.store.require_provider(name)
        options = {k: v for k, v in {**config.options, **changes}.items() if v is not None}
        updated = config.model_copy(update={"options": options})
        options = await self.factory(updated).prepare(confirm, self.store.install_id())
        updated = updated.model_copy(update={"options": options})
        before, after = self.get(name), self.factory(updated)
        moved = [
            w.name
            for w in self.store.workspaces()
            if w.provider == name and before.folder_for(w.name) != after.folder_for(w.name)
        ]
        if moved:
            raise PodbayError(
                f"workspaces {', '.join(moved)} keep their folders where provider {name} "
                "put them; this change would leave them behind",
                f"delete those workspaces first (podbay sync NAME brings work back), then: "
                f"podbay provider set {name} ...",
            )
        self.save(updated)
        return updated

    def remove(self, name: str) -> None:
        self.store.require_provider(name)
        users = [w.name for w in self.store.workspaces() if w.provider == name]
        if users:
            raise PodbayError(
                f"provider {name} is used by workspaces: {', '.join(users)}",
                "delete those workspaces first: podbay delete NAME",
            )
        self.store.remove_provider(name)
        self._built.pop(name, None)
        if self.default() == name:
            rest = self.store.providers()
            self.store.set_meta(DEFAULT, rest[0].name if rest else "")

    def use(self, name: str) -> None:
        """New workspaces go to this provider."""
        self.store.require_provider(name)
        self.store.set_meta(DEFAULT, name)
