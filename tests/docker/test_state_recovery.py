"""A damaged, lost or unwritable state file: said plainly, never silently recreated, and
repaired from what outlives it (the reliability probe's U1, X1, D1's trigger)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.docker.test_sources import make_repo
from tests.unit.test_cli_errors import assert_clean_error


@pytest.fixture
def two_workspaces(podbay: Podbay, tmp_path: Path) -> Podbay:
    write_config(
        podbay.cwd / "Mine",
        {"image": IMAGE, "userEnvProbe": "none", "onCreateCommand": "echo x >> /tmp/oncreate"},
    )
    podbay.ok("up", "Mine")
    make_repo(tmp_path / "repo")
    podbay.ok("up", f"file://{tmp_path}/repo")
    return podbay


def damage(home: Path, how: str) -> None:
    db = home / "podbay.db"
    for extra in ("podbay.db-wal", "podbay.db-shm"):
        (home / extra).unlink(missing_ok=True)
    if how == "missing":
        db.unlink()
    elif how == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif how == "empty":
        db.write_bytes(b"")
    else:
        with open(db, "r+b") as handle:
            handle.truncate(5000)


@pytest.mark.parametrize("how", ["garbage", "empty", "truncated", "missing"])
def test_a_damaged_state_file_is_named_and_rebuilt(two_workspaces: Podbay, how: str) -> None:
    podbay = two_workspaces
    damage(podbay.home, how)
    db = podbay.home / "podbay.db"
    before = db.read_bytes() if db.exists() else None

    result = podbay("list")
    assert_clean_error(result, "podbay's state file")
    assert "internal error" not in result.stderr
    assert "podbay doctor --rebuild-state" in result.stderr
    # Nothing was recreated over it.
    assert (db.read_bytes() if db.exists() else None) == before

    rebuilt = podbay.json("doctor", "--rebuild-state")
    from_old = rebuilt["fromOldFile"]
    assert sorted(rebuilt["fromContainers"] + from_old) == ["mine", "repo"]
    if before is not None:
        assert Path(rebuilt["keptAs"]).read_bytes() == before
    rows = {row["name"]: row for row in podbay.json("list")}
    assert rows["repo"]["sourceKind"] == "git" and rows["repo"]["source"].startswith("file://")
    if "mine" not in from_old:
        assert "rebuilt by podbay doctor" in rows["mine"]["detail"]
    # A sound state file is not rebuilt again.
    assert_clean_error(podbay("doctor", "--rebuild-state"), "nothing to rebuild")

    podbay.ok("up", "mine")
    assert podbay.status("mine")["status"] == "Running"
    # The container's once-hooks are not run again, in the folder it was made with.
    assert podbay.ok("exec", "mine", "--", "cat", "/tmp/oncreate").stdout == "x\n"
    assert podbay.ok("exec", "mine", "--", "pwd").stdout == "/workspaces/Mine\n"
    podbay.ok("ssh", "repo", "--", "true")


@contextlib.contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "tiny", "64k") as mount:
        yield mount


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "small", "8m") as mount:
        yield mount


def test_a_full_disk_is_one_line_not_a_traceback(podbay: Podbay, tiny_disk: Path) -> None:
    home = tiny_disk / "home"
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    write_config(podbay.cwd / "full", {"image": IMAGE})
    result = podbay("up", "full", env={"PODBAY_HOME": str(home)})
    assert_clean_error(result)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "space" in result.stderr or "full" in result.stderr


def test_a_read_only_home_is_one_line_not_a_traceback(podbay: Podbay, small_disk: Path) -> None:
    home = small_disk / "home"
    env = {"PODBAY_HOME": str(home)}
    podbay.ok("list", env=env)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    write_config(podbay.cwd / "ro", {"image": IMAGE})
    for args in (["list"], ["up", "ro"]):
        result = podbay(*args, env=env)
        assert_clean_error(result)
        assert "internal error" not in result.stderr
        assert "read-only" in result.stderr or "writable" in result.stderr
