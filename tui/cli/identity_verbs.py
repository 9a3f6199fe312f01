"""Identity verbs: `dotfiles` (the repository installed in every new container)."""

from __future__ import annotations

import argparse

from podbay.tui.output import done


def cmd_dotfiles(ns: argparse.Namespace) -> int:
    from podbay.core import dotfiles
    from podbay.core.errors import PodbayError
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
        "url": chosen.url if chosen else None,
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
