"""Failures of the machine rather than of podbay: a full disk, a read-only folder, a damaged or
busy state file. Each becomes one line naming the cause and what to do; "internal error" is
left for podbay's own bugs."""

from __future__ import annotations

import errno
import sqlite3

from podbay.core.errors import PodbayError


class StateDamaged(PodbayError):
    kind = "state-damaged"


class EnvironmentProblem(PodbayError):
    kind = "environment"


REBUILD_HINT = (
    "your sources, keys and containers are untouched; rebuild the records from them with: "
    "podbay doctor --rebuild-state"
)

_OS = {
    errno.ENOSPC: ("no space left on the disk", "free some space, then run the command again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, then run the command again"),
    errno.EROFS: ("the file system is read-only", "point PODBAY_HOME at a writable folder"),
    errno.EACCES: ("permission denied", "check the owner and mode of the file and its folder"),
    errno.EPERM: ("operation not permitted", "check the owner and mode of the file"),
    errno.EIO: ("an input/output error from the disk", "check the disk (dmesg)"),
    errno.ENAMETOOLONG: ("a file name is too long", "use a shorter name or path"),
}


def _state_file() -> str:
    try:
        from podbay.core import paths

        return str(paths.db_file(paths.home()))
    except Exception:
        return "podbay's state file"


def explain(exc: BaseException) -> PodbayError | None:
    """The one-line message for an environmental failure, or None for anything else."""
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc)
    if isinstance(exc, OSError) and exc.errno in _OS:
        what, hint = _OS[exc.errno]
        where = f": {exc.filename}" if exc.filename else ""
        return EnvironmentProblem(f"{what}{where}", hint)
    return None


def _sqlite(exc: sqlite3.Error) -> PodbayError | None:
    """By SQLite's own error code; anything not about the file or the disk stays a bug."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    base = name.split("_")[0:2]
    kind = "_".join(base)  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    state = _state_file()
    if kind in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return EnvironmentProblem(
            f"podbay's state file {state} stayed locked by another process for 30 s",
            "wait for the other podbay command to finish (see: podbay list), then try again",
        )
    if kind in ("SQLITE_FULL", "SQLITE_IOERR"):
        return EnvironmentProblem(
            f"podbay's state file {state} could not be written: {exc}",
            "free some space on that disk (or check it), then run the command again",
        )
    if kind in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"):
        return EnvironmentProblem(
            f"podbay's state file {state} cannot be opened for writing ({exc})",
            "check that its folder is writable, or point PODBAY_HOME at one that is",
        )
    if kind in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return StateDamaged(f"podbay's state file {state} is damaged ({exc})", REBUILD_HINT)
    return None
