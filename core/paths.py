"""Where podbay keeps its state: $PODBAY_HOME, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The state directory, created 0700 on first use."""
    env = os.environ.get("PODBAY_HOME")
    if env:
        path = Path(env).expanduser().resolve()
    else:
        import platformdirs

        path = platformdirs.user_data_path("podbay")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def db_file(root: Path) -> Path:
    return root / "podbay.db"


def crash_log(root: Path) -> Path:
    """Tracebacks of podbay's own bugs; `_` keeps it apart from every workspace's NAME.log."""
    return logs_dir(root) / "_crash.log"


def locks_dir(root: Path) -> Path:
    return _sub(root, "locks")


def logs_dir(root: Path) -> Path:
    return _sub(root, "logs")


def sources_dir(root: Path) -> Path:
    """Folders podbay owns (git clones, templates, empty folders for image workspaces)."""
    return _sub(root, "sources")


def builds_dir(root: Path) -> Path:
    """Build contexts podbay writes for the images it makes (features, UID update)."""
    return _sub(root, "builds")


def features_cache(root: Path) -> Path:
    """Downloaded features, by content digest, so a rebuild works offline."""
    return _sub(root, "features")


def cache_dir(root: Path) -> Path:
    """What can be asked again: e.g. cloud prices, kept a while to save calls."""
    return _sub(root, "cache")


def keys_dir(root: Path) -> Path:
    return _sub(root, "keys")


def _sub(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
