"""A workspace's log file: what podbay's operations on it did, each under a timestamped header.

Both fronts write it (the CLI and the TUI run the same engine) and both read it: `podbay logs`
and the TUI's Logs tab, which follows it while a CLI command runs. Standard library only: the
quick path of `up` (core/quick_up.py) writes it too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

HEADER_MARK = "---"


def path(logs_dir: str | os.PathLike[str], name: str) -> Path:
    return Path(logs_dir) / f"{name}.log"


def append(file: str | os.PathLike[str], lines: Iterable[str]) -> None:
    """Append lines; the file is private (hook output can hold whatever commands print)."""
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as log:
        log.write("".join(line + "\n" for line in lines))


def header(operation: str, origin: str, now: float | None = None) -> str:
    """`--- 2026-11-30 19:40:01 up (from the CLI) ---`, in local time."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    return f"{HEADER_MARK} {stamp} {operation} (from the {origin}) {HEADER_MARK}"


def is_header(line: str) -> bool:
    return line.startswith(HEADER_MARK + " ") and line.endswith(" " + HEADER_MARK)
