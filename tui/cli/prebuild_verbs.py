"""`podbay prebuild`: make and push a source's prebuild, or list what a repository holds."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from podbay.tui.output import done, printer, table
from podbay.tui.wiring import open_engine


def cmd_prebuild(ns: argparse.Namespace) -> int:
    import asyncio

    from podbay.core.errors import PodbayError

    engine = open_engine()
    if ns.list is not None:
        if ns.source or ns.push:
            raise PodbayError("--list goes alone", "podbay prebuild --list [REGISTRY/NAME]")
        found = asyncio.run(engine.prebuilds(ns.list or None))
        rows = [
            [p.image, p.source or "-", p.created or "-", f"{p.size / 2**20:.1f} MiB"] for p in found
        ]
        text = (
            table(rows, ["PREBUILD", "MADE FROM", "CREATED (UTC)", "SIZE"])
            if rows
            else ("no prebuilds yet; make one: podbay prebuild SOURCE --push REGISTRY/NAME")
        )
        return done(ns, {"prebuilds": [asdict(p) for p in found]}, text)
    if not ns.source or not ns.push:
        raise PodbayError(
            "a prebuild needs a SOURCE and --push REGISTRY/NAME",
            "podbay prebuild . --push 127.0.0.1:5000/team/project (or --list)",
        )
    pushed = asyncio.run(
        engine.prebuild(
            ns.source,
            ns.push,
            printer(ns.json),
            config=ns.config,
            provider=ns.provider,
            create_repository=ns.create_repository,
        )
    )
    repository = pushed.image.rpartition(":")[0]
    text = (
        f"pushed {pushed.image} ({pushed.digest[:19]})\n"
        f"up starts from it: podbay up SOURCE --prebuild {repository}, or in devcontainer.json: "
        f'"customizations": {{"podbay": {{"prebuild": "{repository}"}}}}'
    )
    return done(ns, asdict(pushed), text)
