"""`podbay provider list|add|set|remove|use`: the command-line side of provider management."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from podbay.tui.output import ask, done, table
from podbay.tui.wiring import open_providers


def cmd_provider_list(ns: argparse.Namespace) -> int:
    admin = open_providers()
    default = admin.default()
    items = admin.store.providers()
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
    from podbay.core.errors import PodbayError

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

    from podbay.core.model import ProviderConfig

    admin = open_providers()
    name = ns.name or ns.type
    config = ProviderConfig(name=name, type=ns.type, options=_parse_options(ns.option))
    confirm = _shown_and_accepted if ns.yes else _ask if sys.stdin.isatty() else None
    checked = asyncio.run(admin.add(config, check=not ns.no_check, use=ns.use, confirm=confirm))
    added = f"Added provider {name}" + (f": {checked}" if checked else "")
    return done(ns, {"name": name, "check": checked}, added)


async def _shown_and_accepted(title: str, items: list[str]) -> bool:
    """--yes: what was accepted is still said (an SSH host key's fingerprint)."""
    print(f"podbay: {title}: accepted (--yes)", file=sys.stderr)
    return True


async def _ask(title: str, items: list[str]) -> bool:
    return await ask(title, items, "Accept it?")


def cmd_provider_set(ns: argparse.Namespace) -> int:
    import asyncio

    confirm = _ask if sys.stdin.isatty() else None
    updated = asyncio.run(open_providers().update(ns.name, _parse_options(ns.options), confirm))
    return done(
        ns,
        {"name": ns.name, "options": updated.options},
        f"Updated provider {ns.name}: {_options_text(updated.options)}",
    )


def cmd_provider_remove(ns: argparse.Namespace) -> int:
    from podbay.core import secrets_store

    admin = open_providers()
    admin.remove(ns.name)
    reading = [s.name for s in secrets_store.listed(admin.store) if s.provider == ns.name]
    if reading:  # (they name it: each says so when used, until set again)
        print(
            f"podbay: note: secrets {', '.join(reading)} were read through {ns.name}; set them "
            f"again with another provider: podbay secret set NAME --ref REF --provider OTHER",
            file=sys.stderr,
        )
    return done(ns, {"name": ns.name}, f"Removed provider {ns.name}")


def cmd_provider_use(ns: argparse.Namespace) -> int:
    open_providers().use(ns.name)
    return done(ns, {"default": ns.name}, f"New workspaces go to provider {ns.name}")


def cmd_provider_check(ns: argparse.Namespace) -> int:
    """The connection test again, or with --deep every check `up` depends on, as a table."""
    import asyncio
    import dataclasses

    from podbay.core.errors import PodbayError

    provider = open_providers().find(ns.name)
    if not ns.deep:
        answer = asyncio.run(provider.check())
        return done(ns, {"name": provider.name, "check": answer}, f"{provider.name}: {answer}")
    if provider.deep_check is None:
        raise PodbayError(
            f"provider {provider.name} has no deep check",
            f"podbay provider check {provider.name} tests its connection",
        )
    results = asyncio.run(provider.deep_check.run())
    passed = all(r.ok is not False for r in results)
    if ns.json:
        rows = [dataclasses.asdict(r) for r in results]
        print(json.dumps({"name": provider.name, "passed": passed, "checks": rows}, indent=2))
        return 0 if passed else 1
    words = {True: "ok", False: "FAIL", None: "note"}
    print(table([[r.name, words[r.ok], r.detail] for r in results], ["CHECK", "RESULT", "DETAIL"]))
    for r in results:
        if r.fix and r.ok is not True:
            print(f"{r.name}: {r.fix}")
    print("up would work." if passed else "up would fail: fix the FAIL rows above.")
    return 0 if passed else 1


def cmd_provider_policy(ns: argparse.Namespace) -> int:
    """The least-privilege cloud policy a provider (its name, or a type) needs, as JSON; a
    configured provider's options shape it (e.g. its Route 53 zone), and -o adds to them.
    --instance-role: the policy its VMs' instance role needs (to read secrets there)."""
    from podbay import providers
    from podbay.core import secrets_store
    from podbay.core.errors import PodbayError

    admin = open_providers()
    store = admin.store
    config = store.provider(ns.name)
    type_name = config.type if config else ns.name
    # The secret references read with this provider's credentials, each allowed alone: those
    # naming it, and those naming none that it is the first to read (as core.engine does).
    entries = [
        s
        for s in secrets_store.listed(store)
        if config
        and s.where == "reference"
        and admin.reader(s.reference, s.provider) == config.name
    ]
    references = [s.reference for s in entries]
    if type_name not in providers.TYPES:
        raise PodbayError(
            f"no provider or provider type named {ns.name!r}", "see: podbay provider list"
        )
    options = {**(config.options if config else {}), **_parse_options(ns.option)}
    kind = providers.provider_class(type_name)
    policy = kind.iam_policy(options, references, ns.instance_role, ns.prebuilds)
    if policy is None:
        having = [t for t in sorted(providers.TYPES) if providers.provider_class(t).iam_policy({})]
        raise PodbayError(
            f"no IAM policy for provider type {type_name!r}",
            f"try: podbay provider policy {having[0]}" if having else "",
        )
    print(json.dumps(policy, indent=2))
    from podbay.providers.aws import policy as aws_policy

    if getattr(kind.validate_options({"region": "us-east-1", **options}), "secrets_on_vm", False):
        _note_reads_on_vm(ns, entries)
    if (length := aws_policy.size(policy)) > aws_policy.MANAGED_POLICY_LIMIT:
        print(
            f"podbay: note: this policy is {length} characters without spaces, more than the "
            f"{aws_policy.MANAGED_POLICY_LIMIT} a managed policy holds; split its secret "
            "statements into a second policy",
            file=sys.stderr,
        )
    return 0


def _note_reads_on_vm(ns: argparse.Namespace, entries: list[Any]) -> None:
    """What a provider whose VMs read its secrets (secrets_on_vm) should know of its policies."""
    if not entries:
        return
    if not ns.instance_role:
        print(
            f"podbay: note: its VMs read these {len(entries)} secret reference(s) themselves, "
            f"with their role (its policy: podbay provider policy {ns.name} --instance-role); "
            "this one keeps them for workspaces elsewhere: drop its PodbayReadSecret* "
            "statements if every workspace that uses them runs on its VMs",
            file=sys.stderr,
        )
        return
    own = sorted({f"{s.name} ({s.workspace})" for s in entries if s.workspace})
    if own:
        print(
            f"podbay: note: every VM of {ns.name} may read all of these, a workspace's own "
            f"secrets too ({', '.join(own)}): one workspace's VM can read another's",
            file=sys.stderr,
        )


def cmd_provider_gc(ns: argparse.Namespace) -> int:
    """List (and with --yes remove) resources a provider made that no workspace owns."""
    import asyncio
    import dataclasses

    from podbay.core.errors import PodbayError

    admin = open_providers()
    provider = admin.find(ns.name)
    leftovers = provider.leftovers
    if leftovers is None:
        raise PodbayError(
            f"provider {provider.name} makes nothing beyond its containers",
            "podbay provider gc is for providers of one machine per workspace (e.g. aws)",
        )
    known = {w.name for w in admin.store.workspaces()}
    items = asyncio.run(leftovers.find(admin.store.install_id(), known, ns.any_home))
    if ns.yes and items:
        asyncio.run(leftovers.remove(items))
    if ns.json:
        found = [dataclasses.asdict(i) for i in items]
        print(json.dumps({"leftovers": found, "removed": bool(ns.yes and items)}, indent=2))
        return 0
    if not items:
        print(f"Nothing left behind in {leftovers.where}.")
        return 0
    rows = [[i.kind, i.id, i.workspace, i.home, i.state] for i in items]
    print(table(rows, ["KIND", "ID", "WORKSPACE", "HOME", "STATE"]))
    if ns.yes:
        print(f"Removed {len(items)} leftover resource(s).")
    else:
        print(f"Remove them with: podbay provider gc {ns.name} --yes")
    return 0
