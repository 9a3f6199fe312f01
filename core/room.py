"""A room: N workspaces of one source for N people (a workshop, a class), made and removed
together. `up SOURCE --count N --prefix P` names them P01..PN, each recorded with its room
(P). The first is brought up alone: it asks what needs asking (consent is remembered for
the source), pulls the prebuild or builds the image, so the others start from what it left,
several at a time (a provider says how many: its machines boot in parallel). Running it again
brings up what is missing or stopped; `delete --prefix P` removes the room's workspaces, and
nothing else whose name happens to start the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from podbay.core.devcontainer.values import WORKSPACE_NAME, printable
from podbay.core.errors import PodbayError
from podbay.core.model import Workspace

MAX_COUNT = 200


@dataclass
class Member:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    hint: str = ""
    workspace: Workspace | None = None


def names(prefix: str, count: int) -> list[str]:
    """The room's workspace names, numbered to sort as they count: ws-01 .. ws-20 (two
    digits at least, three from 100, so a room grown from 9 to 12 keeps its names)."""
    if not 1 <= count <= MAX_COUNT:
        raise PodbayError(
            f"--count {count} is not between 1 and {MAX_COUNT}", "e.g. --count 20 --prefix ws-"
        )
    width = 2 if count < 100 else 3
    found = [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]
    if not prefix or not WORKSPACE_NAME.fullmatch(found[-1]):
        raise PodbayError(
            f"--prefix {printable(prefix)} does not make workspace names ({found[-1]!r})",
            "lower-case letters, digits and '-', starting with a letter, e.g. --prefix ws-",
        )
    return found


async def run(
    wanted: list[str],
    one: Callable[[str], Awaitable[Workspace]],
    parallel: int,
    on_done: Callable[[Member], None] | None = None,
    first_alone: bool = True,
) -> list[Member]:
    """`one(name)` for each name, `parallel` at a time; with `first_alone`, the first before
    the others, which are not tried when it fails (they would fail the same way). A member
    that fails does not stop the others."""
    gate = asyncio.Semaphore(max(1, parallel))

    async def member(name: str) -> Member:
        async with gate:
            started = time.monotonic()
            try:
                ws = await one(name)
                found = Member(name, True, time.monotonic() - started, workspace=ws)
            except PodbayError as exc:
                found = Member(name, False, time.monotonic() - started, exc.message, exc.hint)
            if on_done is not None:
                on_done(found)
            return found

    if not first_alone:
        return list(await asyncio.gather(*(member(name) for name in wanted)))
    first = await member(wanted[0])
    if not first.ok:
        return [first]
    rest = await asyncio.gather(*(member(name) for name in wanted[1:]))
    return [first, *rest]


def of_room(workspaces: list[Workspace], prefix: str) -> list[Workspace]:
    """The workspaces `up --count --prefix PREFIX` made, by name."""
    return sorted((w for w in workspaces if w.room == prefix), key=lambda w: w.name)
