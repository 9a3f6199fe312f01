"""What the command line prints: a verb's result (text, or one JSON object with --json),
errors as one line and a hint, and progress events on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podbay.core.model import Event


def fail(message: str, hint: str, json_mode: bool, kind: str = "error") -> int:
    if json_mode:
        print(json.dumps({"outcome": "error", "kind": kind, "message": message, "hint": hint}))
    print(f"podbay: error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return 1


def printer(json_mode: bool) -> Callable[[Event], None]:
    tty = sys.stderr.isatty()
    state = {"progress": False, "quarter": -1}

    def show(event: Event) -> None:
        if event.kind == "progress":
            if not event.total:
                return
            pct = 100 * (event.current or 0) // max(event.total, 1)
            text = f"    {pct:3d}% of {event.total / 1048576:.1f} MiB"
            if tty:
                sys.stderr.write(f"\r{text}  ")
                sys.stderr.flush()
                state["progress"] = True
            elif pct // 25 > state["quarter"]:
                # Not a terminal (a log, CI): a line per quarter instead of a live counter.
                state["quarter"] = pct // 25
                print(text, file=sys.stderr, flush=True)
            return
        if state["progress"]:
            sys.stderr.write("\n")
            state["progress"] = False
        print(event.line(), file=sys.stderr, flush=True)

    return show


def done(ns: argparse.Namespace, data: dict[str, Any], text: str = "") -> int:
    """A verb's result: one JSON object with --json, else a line of text (if any)."""
    if ns.json:
        print(json.dumps({"outcome": "success", **data}))
    elif text:
        print(text)
    return 0


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


async def ask(title: str, items: list[str], question: str) -> bool:
    """A yes/no question on the terminal: what is asked, its points, then `question`."""
    import asyncio

    print(f"podbay: {title}", file=sys.stderr)
    for item in items:
        print(f"  - {item}", file=sys.stderr)
    answer = await asyncio.to_thread(input, f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")
