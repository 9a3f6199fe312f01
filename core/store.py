"""State in SQLite (WAL) under podbay's home, and per-workspace locks that die with their holder.

Locks are `flock(2)` locks on one file per workspace: the kernel drops them when the holding
process exits for any reason (kill -9 included), so a stale lock is never waited on. The file
also records what holds it (the operation and the front that runs it), for messages and the
Busy status.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import sqlite3
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from podbay.core import paths
from podbay.core.environment import REBUILD_HINT, StateDamaged
from podbay.core.errors import UnknownProvider, UnknownWorkspace
from podbay.core.model import ProviderConfig, Workspace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS providers (
    name TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workspaces (
    name TEXT PRIMARY KEY, provider TEXT NOT NULL, data TEXT NOT NULL);
"""


_VERSION = 1  # PRAGMA user_version; a change of schema bumps it (a backup is taken first)

# What a home that has been used holds besides the database.
_USED = ("sources", "keys", "known_hosts")


def _holds_something(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists() and path.stat().st_size > 0


def _refuse_lost_state(root: Path) -> None:
    """A database that is missing or empty although the home has been used was deleted or cut
    short (a crash or a full disk during a write): making a new one silently would forget
    every workspace while their containers and folders live on."""
    db_file = paths.db_file(root)
    try:
        state = "is empty" if db_file.stat().st_size == 0 else ""
    except FileNotFoundError:
        state = "is missing"
    used = [name for name in _USED if _holds_something(root / name)] if state else []
    if used:
        raise StateDamaged(
            f"podbay's state file {db_file} {state}, although {root} holds " + ", ".join(used),
            REBUILD_HINT,
        )


class Store:
    """podbay's state: providers, workspaces, settings. One short transaction per call."""

    def __init__(self, root: Path | None = None, new_state: bool = False) -> None:
        """Open the state under `root`; `new_state` allows a new database in a used home (for
        podbay doctor, which sets the damaged one aside first)."""
        self.root = root or paths.home()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        db_file = paths.db_file(self.root)
        # Opening takes turns on a file lock: switching a first database to WAL needs it to
        # itself (the busy timeout does not wait for that), and a command that finds the file
        # empty must not meet another that has only just created it.
        fd = os.open(self.root / ".init.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not new_state:
                _refuse_lost_state(self.root)
            # Created private before SQLite opens it (and its -wal and -shm files after it).
            os.close(os.open(db_file, os.O_RDWR | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(
                db_file, timeout=30, isolation_level=None, check_same_thread=False
            )
            # Closed when this store goes, not when the cyclic collector gets to the connection
            # (it holds a cycle through its statement cache), and at exit at the latest, the
            # `podbay` command's quick exit included (tui.cli.entry): the last connection to
            # close folds SQLite's write-ahead log into podbay.db.
            weakref.finalize(self, self._db.close)
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            wal = self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            if not wal or version < _VERSION:
                old_umask = os.umask(0o077)
                try:
                    if self._has_schema() and version < _VERSION:
                        self.backup()  # before the schema changes
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.executescript(_SCHEMA)
                    self._db.execute(f"PRAGMA user_version={_VERSION}")
                finally:
                    os.umask(old_umask)
        finally:
            os.close(fd)

    def check(self) -> str | None:
        """SQLite's own consistency check; None when the file is sound."""
        rows = self._db.execute("PRAGMA quick_check").fetchall()
        found = [str(r[0]) for r in rows if r[0] != "ok"]
        return "; ".join(found[:3]) or None

    def backup(self) -> Path:
        """A consistent copy of the state (SQLite's online backup), kept as podbay.db.backup."""
        target = paths.db_file(self.root).with_name("podbay.db.backup")
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_RDWR | os.O_CREAT, 0o600))
        copy = sqlite3.connect(partial)
        try:
            self._db.backup(copy)
        finally:
            copy.close()
        partial.replace(target)
        return target

    def _has_schema(self) -> bool:
        row = self._db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='workspaces'"
        ).fetchone()
        return bool(row[0])

    def close(self) -> None:
        self._db.close()

    # settings ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        """The settings whose key starts with PREFIX, by the rest of their key (set ones only)."""
        rows = self._db.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? AND value != ''",
            (len(prefix), prefix),
        ).fetchall()
        return {str(key)[len(prefix) :]: str(value) for key, value in rows}

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def install_id(self) -> str:
        """A random id for this podbay home; labels our containers so two homes never mix."""
        existing = self.get_meta("install_id")
        if existing:
            return existing
        new = uuid.uuid4().hex[:12]
        self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('install_id', ?)", (new,))
        return self.get_meta("install_id") or new

    # providers -----------------------------------------------------------------------------

    def ensure_defaults(self) -> None:
        """On a first run: the local Docker provider, as the default (only once, so a user
        who removes it is not given it back)."""
        if self.get_meta("initialised") is not None:
            # podbay 0.1 kept copies of VM workspaces' configs here; nothing reads them now.
            shutil.rmtree(self.root / "mirrors", ignore_errors=True)
            return
        self.add_provider_if_missing(ProviderConfig(name="docker", type="docker"))
        if self.get_meta("default_provider") is None:
            self.set_meta("default_provider", "docker")
        self.set_meta("initialised", "1")

    def providers(self) -> list[ProviderConfig]:
        rows = self._db.execute("SELECT data FROM providers ORDER BY name").fetchall()
        return [ProviderConfig.model_validate_json(r[0]) for r in rows]

    def provider(self, name: str) -> ProviderConfig | None:
        row = self._db.execute("SELECT data FROM providers WHERE name=?", (name,)).fetchone()
        return None if row is None else ProviderConfig.model_validate_json(row[0])

    def require_provider(self, name: str) -> ProviderConfig:
        found = self.provider(name)
        if found is None:
            known = ", ".join(p.name for p in self.providers()) or "none"
            raise UnknownProvider(
                f"no provider named {name!r} (configured: {known})",
                "see: podbay provider list; add one with: podbay provider add docker --name NAME",
            )
        return found

    def save_provider(self, provider: ProviderConfig) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO providers(name, type, data) VALUES (?, ?, ?)",
            (provider.name, provider.type, provider.model_dump_json()),
        )

    def add_provider_if_missing(self, provider: ProviderConfig) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO providers(name, type, data) VALUES (?, ?, ?)",
            (provider.name, provider.type, provider.model_dump_json()),
        )
        return cursor.rowcount == 1

    def remove_provider(self, name: str) -> None:
        self._db.execute("DELETE FROM providers WHERE name=?", (name,))

    # workspaces ----------------------------------------------------------------------------

    def workspaces(self) -> list[Workspace]:
        rows = self._db.execute("SELECT data FROM workspaces ORDER BY name").fetchall()
        return [Workspace.model_validate_json(r[0]) for r in rows]

    def find_workspace(self, name: str) -> Workspace | None:
        row = self._db.execute("SELECT data FROM workspaces WHERE name=?", (name,)).fetchone()
        return None if row is None else Workspace.model_validate_json(row[0])

    def workspace(self, name: str) -> Workspace:
        found = self.find_workspace(name)
        if found is None:
            names = [w.name for w in self.workspaces()]
            hint = f"known workspaces: {', '.join(names)}" if names else "create one: podbay up ."
            raise UnknownWorkspace(f"no workspace named {name!r}", hint)
        return found

    def insert_workspace(self, workspace: Workspace) -> bool:
        """Insert unless the name exists; True when inserted."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO workspaces(name, provider, data) VALUES (?, ?, ?)",
            (workspace.name, workspace.provider, workspace.model_dump_json()),
        )
        return cursor.rowcount == 1

    def save_workspace(self, workspace: Workspace) -> None:
        workspace.updated_at = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO workspaces(name, provider, data) VALUES (?, ?, ?)",
            (workspace.name, workspace.provider, workspace.model_dump_json()),
        )

    def remove_workspace(self, name: str) -> None:
        self._db.execute("DELETE FROM workspaces WHERE name=?", (name,))

    # locks ---------------------------------------------------------------------------------

    def lock_path(self, name: str) -> Path:
        return paths.locks_dir(self.root) / f"{name}.lock"

    def lock_holder(self, name: str) -> str | None:
        """What holds the workspace's lock ('up (from the CLI)'), or None when it is free."""
        path = self.lock_path(name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 200, 0).decode(errors="replace").strip()
                return text or "another podbay process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def try_lock(self, name: str, operation: str) -> Iterator[bool]:
        """Take the lock if free, without waiting; yields whether it was taken."""
        fd = os.open(self.lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            _write_holder(fd, operation)
            yield True
        finally:
            os.close(fd)

    @contextlib.asynccontextmanager
    async def lock(
        self, name: str, operation: str, on_wait: Callable[[str], None] | None = None
    ) -> AsyncIterator[None]:
        """Hold the workspace's lock for one operation; waits (cancellably) while it is held."""
        fd = os.open(self.lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not told and on_wait is not None:
                        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                        on_wait(holder or "another podbay process")
                        told = True
                    await asyncio.sleep(0.05)
            _write_holder(fd, operation)
            yield
        finally:
            os.close(fd)  # closing drops the lock


def _write_holder(fd: int, holder: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, holder.encode(), 0)
