"""Rooms on the command line: `up SOURCE --count N --prefix P` and `delete --prefix P`, with a
table of the members, their state and `ssh` host (core/room.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from podbay.tui.output import printer, table

if TYPE_CHECKING:
    from podbay.core.model import Event
    from podbay.core.room import Member


def _progress(ns: argparse.Namespace, first: str) -> Callable[[Event], None]:
    """The first member's steps as `up` shows them (it pulls or builds for all), and every
    member's warnings, named; the rest is in each workspace's log."""
    show = printer(ns.json)

    def event(item: Event) -> None:
        if item.workspace == first:
            show(item)
        elif item.kind == "warning":
            show(item.model_copy(update={"message": f"{item.workspace}: {item.message}"}))

    return event


def _finished(verb: str) -> Callable[[Member], None]:
    def said(member: Member) -> None:
        outcome = verb if member.ok else f"failed: {member.error}"
        print(f"==> {member.name} {outcome} ({member.seconds:.1f} s)", file=sys.stderr, flush=True)

    return said


def up_room(ns: argparse.Namespace, request: Any, ask: Any) -> int:
    import asyncio

    from podbay.tui.wiring import open_engine

    engine = open_engine()
    from podbay.core import room

    first = room.names(ns.prefix, ns.count)[0] if 1 <= ns.count <= room.MAX_COUNT else ""
    members = asyncio.run(
        engine.up_room(
            request, ns.count, ns.prefix, _progress(ns, first), ask, _finished("is ready")
        )
    )
    return _report(ns, members, ns.count, "ready")


def delete_room(ns: argparse.Namespace) -> int:
    import asyncio

    from podbay.core import room
    from podbay.core.errors import PodbayError
    from podbay.tui.wiring import open_engine

    engine = open_engine()
    members = room.of_room(engine.store.workspaces(), ns.prefix)
    if members and not ns.yes:
        if not sys.stdin.isatty():
            raise PodbayError(
                f"refusing to delete room {ns.prefix} without confirmation",
                f"pass --yes: podbay delete --prefix {ns.prefix} --yes",
            )
        names = ", ".join(w.name for w in members)
        answer = input(
            f"Delete the {len(members)} workspaces of room {ns.prefix} ({names})? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.", file=sys.stderr)
            return 1
    found = asyncio.run(
        engine.delete_room(ns.prefix, _progress(ns, ""), ns.force, _finished("is deleted"))
    )
    return _report(ns, found, len(found), "deleted")


def _report(ns: argparse.Namespace, members: list[Member], count: int, state: str) -> int:
    """The members' table (or JSON); exit 1 when any failed or was not tried."""
    import json

    rows: list[dict[str, Any]] = []
    for member in members:
        ws = member.workspace
        rows.append(
            {
                "name": member.name,
                "outcome": "success" if member.ok else "error",
                "ssh": (
                    f"{member.name}.podbay"
                    if state == "ready" and member.ok and ws and ws.ssh_ready
                    else None
                ),
                "seconds": round(member.seconds, 2),
                "error": member.error or None,
                "hint": member.hint or None,
            }
        )
    failed = [m for m in members if not m.ok]
    untried = count - len(members)
    if ns.json:
        print(json.dumps({"outcome": "error" if failed or untried else "success", "members": rows}))
    else:
        print(
            table(
                [
                    [r["name"], state if r["outcome"] == "success" else "failed", r["ssh"] or "-",
                     f"{r['seconds']:.1f} s", r["error"] or ""]
                    for r in rows
                ],
                ["NAME", "STATE", "SSH", "TIME", "ERROR"],
            )
        )  # fmt: skip
    if untried:
        first = failed[0] if failed else None
        print(
            f"podbay: error: the first workspace failed, so the other {untried} were not made",
            file=sys.stderr,
        )
        if first is not None and first.hint:
            print(f"hint: {first.hint}", file=sys.stderr)
    elif failed:
        print(f"podbay: error: {len(failed)} of {len(members)} failed (see ERROR)", file=sys.stderr)
    return 1 if failed or untried else 0
