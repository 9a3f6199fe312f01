"""Identity verbs: `dotfiles` (the repository installed in every new container) and
`git-hosts` (the HTTPS hosts whose credentials git gets in sessions)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from podbay.tui.output import done

if TYPE_CHECKING:
    from podbay.core.model import ProviderConfig
    from podbay.core.store import Store


def cmd_dotfiles(ns: argparse.Namespace) -> int:
    from podbay.core import dotfiles
    from podbay.core.errors import PodbayError
    from podbay.core.model import redact_url
    from podbay.tui.wiring import open_store

    store = open_store()
    if ns.name is not None:
        store.workspace(ns.name)  # the usual error for an unknown one
    if ns.set is None and (ns.install is not None or ns.timeout is not None):
        raise PodbayError("--install and --timeout go with --set URL", "podbay dotfiles --set URL")
    if ns.set in ("none", "default"):
        if ns.set == "default" and ns.name is None:
            raise PodbayError("`default` is for a workspace", "podbay dotfiles NAME --set default")
        dotfiles.choose(store, ns.name, ns.set if ns.set == "default" else None)
    elif ns.set is not None:
        timeout = dotfiles.DEFAULT_TIMEOUT if ns.timeout is None else ns.timeout
        dotfiles.choose(store, ns.name, dotfiles.check(ns.set, ns.install or "", timeout))
    if ns.name is None:
        chosen, origin = dotfiles.default(store), "default"
    else:
        chosen, origin = dotfiles.for_workspace(store, ns.name)
    data = {
        "name": ns.name,
        "url": redact_url(chosen.url) if chosen else None,
        "install": chosen.install if chosen else None,
        "timeout": chosen.timeout if chosen else None,
        "from": origin,
    }
    who = ns.name or "new workspaces"
    note = " (the default)" if ns.name and origin == "default" else ""
    text = f"{who}: {chosen.shown() if chosen else 'no dotfiles'}{note}"
    if chosen is None and ns.name is None:
        text += "\nset them with: podbay dotfiles --set https://HOST/ME/dotfiles.git"
    return done(ns, data, text)


def cmd_git_hosts(ns: argparse.Namespace) -> int:
    from podbay.core import git_credentials as creds
    from podbay.core.errors import PodbayError
    from podbay.tui.wiring import open_store

    store = open_store()
    ws = store.workspace(ns.name)  # the usual error for an unknown one
    added = creds.added_hosts(store.get_meta, ns.name)
    for text in ns.add or []:
        added.append(creds.check_host(text))
    for text in ns.remove or []:
        gone = creds.check_host(text)
        if gone not in added:
            raise PodbayError(
                f"{text} was not added for {ns.name}",
                f"podbay git-hosts {ns.name} lists the hosts added",
            )
        added = [host for host in added if host != gone]
    if ns.add or ns.remove:
        creds.set_added_hosts(store, ns.name, added)
    own = creds.recorded_hosts(ws.git_hosts)
    shown = [f"{p}://{h}" for p, h in own]
    extra = [f"{p}://{h}" for p, h in dict.fromkeys(added) if (p, h) not in own]
    lines = [f"{ns.name}: git in `podbay ssh` sessions gets this computer's credentials for"]
    lines += [f"  {host}  (a remote of the workspace)" for host in shown]
    lines += [f"  {host}  (added)" for host in extra]
    if not shown and not extra:
        lines = [f"{ns.name}: no HTTPS host gets credentials (add one: --add HOST)"]
    return done(ns, {"name": ns.name, "remotes": shown, "added": extra}, "\n".join(lines))


def _check_reader(store: Store, reference: str, provider: str) -> None:
    """A reference is set only with a provider that reads it: the one named, else any (a note
    when none does yet)."""
    from podbay import providers
    from podbay.core.errors import PodbayError

    def reads(config: ProviderConfig) -> bool:
        if config.type not in providers.TYPES:
            return False
        kinds = providers.provider_class(config.type).secret_kinds
        return bool(kinds) and reference.startswith(kinds)

    hint = "name an AWS provider (see: podbay provider list), or add one: podbay provider add aws"
    if provider:
        config = store.provider(provider)
        if config is None:
            raise PodbayError(f"no provider named {provider!r}", hint)
        if not reads(config):
            raise PodbayError(
                f"provider {provider} ({config.type}) does not read {reference}", hint
            )
    elif not any(reads(c) for c in store.providers()):
        print(
            f"podbay: note: no provider here reads {reference} yet; add an AWS provider "
            "(podbay provider add aws) before it is used",
            file=sys.stderr,
        )


def cmd_secret(ns: argparse.Namespace) -> int:

    from podbay.core import secrets_store
    from podbay.core.errors import PodbayError
    from podbay.tui.wiring import open_store

    store = open_store()
    workspace = ns.workspace or ""
    action = ns.secret_command or "list"
    if workspace and action != "rm":  # (rm: also what a workspace deleted before kept)
        store.workspace(workspace)  # the usual error for an unknown one
    if action == "list":
        entries = [
            s for s in secrets_store.listed(store) if not workspace or s.workspace == workspace
        ]
        rows = [entry.shown() for entry in entries]
        lines = [
            f"{row['name'] or '':24} {row['workspace'] or '(all)':16} "
            f"{row.get('reference') or row['where']}"
            for row in rows
        ]
        text = "\n".join(lines) if lines else "no secrets (add one: podbay secret set NAME)"
        return done(ns, {"secrets": rows}, text)
    name = secrets_store.check_name(ns.name)
    where = f" for {workspace}" if workspace else " for every workspace"
    if action == "rm":
        secrets_store.remove(store, name, workspace)
        return done(ns, {"name": name, "workspace": workspace}, f"removed secret {name}{where}")
    if ns.ref:
        _check_reader(store, secrets_store.check_reference(ns.ref), ns.provider or "")
        entry = secrets_store.set_reference(store, name, workspace, ns.ref, ns.provider or "")
        return done(ns, entry.shown(), f"secret {name}{where}: read from {ns.ref} when used")
    if ns.provider:
        raise PodbayError("--provider goes with --ref", f"podbay secret set {name} --ref REF")
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"value of {name}: ")
    else:
        value = sys.stdin.read().removesuffix("\n")
    entry = secrets_store.set_value(store, name, workspace, value)
    kept = "the keyring" if entry.where == "keyring" else "podbay's 0600 file"
    from podbay.core.ssh.sshd import setenv_words

    if setenv_words({name: value}, comments=False)[1]:
        # (an sshd_config line is how `ssh NAME.podbay` sessions get it: core/ssh/sshd.py)
        print(
            f"podbay: note: {name} has a double quote, a backslash, a # or a line break: "
            "`ssh NAME.podbay` and VS Code sessions do not get it; podbay ssh, exec and hooks do",
            file=sys.stderr,
        )
    return done(ns, entry.shown(), f"secret {name}{where}: kept in {kept}")
