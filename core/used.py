"""When each workspace was last used (an `up`, a shell, `exec`, `ssh NAME.podbay`, VS Code): the
mtime of a file per workspace, touched by the attach paths for the cost of one system call.

Standard library `os` only: the ssh ProxyCommand and `podbay exec` import it on their fast paths.
Names reach here only after their workspace's record was found (so they are valid file names).
"""

from __future__ import annotations

import os


def _path(home: str, name: str) -> str:
    return os.path.join(home, "used", name)


def mark(home: str, name: str) -> None:
    """Now is when NAME was last used; never fails the attach that says so."""
    path = _path(home, name)
    try:
        os.utime(path)
    except FileNotFoundError:
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError:
            pass
    except OSError:
        pass


def when(home: str, name: str) -> float | None:
    try:
        return os.stat(_path(home, name)).st_mtime
    except OSError:
        return None


def forget(home: str, name: str) -> None:
    try:  # noqa: SIM105 (no contextlib: this module stays light for the fast paths)
        os.unlink(_path(home, name))
    except OSError:
        pass
