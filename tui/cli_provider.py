"""`podbay provider list|add|set|remove|use`: the command-line side of provider management."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tui.output import done, table
from tui.wiring import open_store


def cmd_provider_list(ns: argparse.Namespace) -> int:
    store = open_store()
    default = store.get_meta("default_provider")
    items = store.providers()
    if ns.json:
        print(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "type": p.type,
                        "options": p.options,
                        "default": p.name == default,
                    }
                    for p in items
                ],
                indent=2,
            )
        )
        return 0
    rows = [
        [("* " if p.name == default else "  ") + p.name, p.type, _options_text(p.options)]
        for p in items
    ]
    print(table(rows, ["  NAME", "TYPE", "OPTIONS"]))
    return 0


def _options_text(options: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in options.items() if v not in (None, "")) or "-"


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    from core.errors import PodbayError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PodbayError(
                f"option {pair!r} is not KEY=VALUE", "e.g. -o host=tcp://1.2.3.4:2375"
            )
        if value[:1] in ("{", "["):
            try:
                options[key.strip()] = json.loads(value)  # tags={"team": "web"}
                continue
            except ValueError:
                pass
        options[key.strip()] = value if value != "" else None
    return options


def cmd_provider_add(ns: argparse.Namespace) -> int:
    import asyncio

    import providers
    from core.devcontainer.values import WORKSPACE_NAME, printable
    from core.errors import PodbayError
    from core.model import ProviderConfig

    store = open_store()
    name = ns.name or ns.type
    if not WORKSPACE_NAME.fullmatch(name):
        raise PodbayError(
            f"invalid provider name {printable(name)}",
            "use lower-case letters, digits and '-', e.g. --name build-box",
        )
    if store.provider(name) is not None:
        raise PodbayError(
            f"a provider named {name!r} exists",
            f"choose another --name, or: podbay provider set {name}",
        )
    config = ProviderConfig(name=name, type=ns.type, options=_parse_options(ns.option))
    provider = providers.load(config)
    checked = "" if ns.no_check else asyncio.run(provider.check())
    store.save_provider(config)
    if ns.use or store.get_meta("default_provider") is None:
        store.set_meta("default_provider", name)
    added = f"Added provider {name}" + (f": {checked}" if checked else "")
    return done(ns, {"name": name, "check": checked}, added)


def cmd_provider_set(ns: argparse.Namespace) -> int:
    import providers

    store = open_store()
    config = store.require_provider(ns.name)
    options = {**config.options, **_parse_options(ns.options)}
    options = {k: v for k, v in options.items() if v is not None}
    updated = config.model_copy(update={"options": options})
    providers.load(updated)  # validates
    store.save_provider(updated)
    return done(
        ns,
        {"name": ns.name, "options": options},
        f"Updated provider {ns.name}: {_options_text(options)}",
    )


def cmd_provider_remove(ns: argparse.Namespace) -> int:
    from core.errors import PodbayError

    store = open_store()
    store.require_provider(ns.name)
    users = [w.name for w in store.workspaces() if w.provider == ns.name]
    if users:
        raise PodbayError(
            f"provider {ns.name} is used by workspaces: {', '.join(users)}",
            "delete those workspaces first: podbay delete NAME",
        )
    store.remove_provider(ns.name)
    if store.get_meta("default_provider") == ns.name:
        rest = store.providers()
        store.set_meta("default_provider", rest[0].name if rest else "")
    return done(ns, {"name": ns.name}, f"Removed provider {ns.name}")


def cmd_provider_use(ns: argparse.Namespace) -> int:
    store = open_store()
    store.require_provider(ns.name)
    store.set_meta("default_provider", ns.name)
    return done(ns, {"default": ns.name}, f"New workspaces go to provider {ns.name}")


def cmd_provider_policy(ns: argparse.Namespace) -> int:
    """The least-privilege IAM policy a provider type needs, as JSON."""
    from importlib import resources

    from core.errors import PodbayError

    if ns.type != "aws":
        raise PodbayError(
            f"no IAM policy for provider type {ns.type!r}", "try: podbay provider policy aws"
        )
    print(resources.files("assets").joinpath("aws/policy.json").read_text(), end="")
    return 0


def _aws_provider(store: Any, name: str) -> Any:
    """The AWS provider called NAME, or the only AWS provider when NAME is the type."""
    import providers
    from core.errors import PodbayError

    config = store.provider(name)
    if config is None and name == "aws":
        of_type = [p for p in store.providers() if p.type == "aws"]
        if len(of_type) == 1:
            config = of_type[0]
    if config is None or config.type != "aws":
        raise PodbayError(f"no AWS provider named {name!r}", "see: podbay provider list (type aws)")
    return providers.load(config)


def cmd_provider_gc(ns: argparse.Namespace) -> int:
    """List (and with --yes remove) podbay-tagged AWS resources that no workspace owns."""
    import asyncio

    store = open_store()
    provider = _aws_provider(store, ns.name)
    known = {w.name for w in store.workspaces()}
    items = asyncio.run(provider.leftovers(store.install_id(), known, ns.any_home))
    if ns.yes and items:
        asyncio.run(provider.remove_leftovers(items))
    if ns.json:
        print(json.dumps({"leftovers": items, "removed": bool(ns.yes and items)}, indent=2))
        return 0
    if not items:
        print(f"Nothing left behind in {provider.options.region}.")
        return 0
    rows = [[i["kind"], i["id"], i["workspace"], i["home"], i["state"]] for i in items]
    print(table(rows, ["KIND", "ID", "WORKSPACE", "HOME", "STATE"]))
    if ns.yes:
        print(f"Removed {len(items)} leftover resource(s).")
    else:
        print(f"Remove them with: podbay provider gc {ns.name} --yes")
    return 0
