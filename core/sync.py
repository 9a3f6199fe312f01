"""Bringing back what changed in a workspace's copy on a machine: `podbay sync NAME`; and
`--watch`, a two-way sync while it runs.

A folder of this computer is copied to the workspace's machine (an AWS VM, an ssh machine)
when the workspace is made. podbay marks that moment on both sides: a file beside the copy on
the machine (the machine's clock decides what is newer there) and `synced_at` in the record
(this computer's clock, for the files here). A file of the copy newer than the mark changed on
the machine; a file here newer than `synced_at` changed here. `sync` brings the first kind
back and marks both sides again; a file changed on both sides stops it, unless forced (the
machine's copy wins). The repository's own `.git` is not brought back (push instead), nor
what git ignores there (node_modules, build output); a file removed on the machine is not
removed here.

`--watch` does the same every few seconds, and also sends what changed here (since the last
mark; not .git, not what git ignores here) to the copy, dated as the machine's mark so it does
not come back. A file changed on both sides stops it, as it stops `sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from podbay.core import scripts
from podbay.core.errors import PodbayError
from podbay.core.host import HostSession
from podbay.core.model import Workspace

SHOWN = 5  # file names shown in a line


def is_copy(ws: Workspace) -> bool:
    """Whether the workspace's folder is a copy of a folder of this computer on a machine."""
    return ws.source.kind == "folder" and ws.folder != ws.source.value


def mark_path(ws: Workspace) -> str:
    parent, _, base = ws.folder.rstrip("/").rpartition("/")
    return f"{parent}/.{base}.podbay-synced"


async def mark(host: HostSession, ws: Workspace) -> None:
    """The copy and the folder here are the same now (after the upload)."""
    await _run(host, ["touch", mark_path(ws)], ws)
    ws.synced_at = time.time()


async def changed_on_machine(host: HostSession, ws: Workspace) -> list[str] | None:
    """Files of the copy changed on the machine since the last mark, relative to it; None
    when the copy has no mark (made before podbay kept one: nothing to compare with)."""
    marker, folder = shlex.quote(mark_path(ws)), shlex.quote(ws.folder)
    # In a git repository, what git ignores (node_modules, build output) is not work to bring
    # back: git check-ignore drops it (it runs no filter or hook of the repository's).
    ignored = (
        f"git -c safe.directory={folder} -c core.fsmonitor=false -c core.quotepath=false "
        "check-ignore --stdin "
        "--verbose --non-matching | sed -n 's/^::\t//p'"
    )
    script = (
        f"[ -e {marker} ] || exit 3; cd {folder} || exit 1; "
        f"find . -path ./.git -prune -o -type f -newer {marker} -print | sed 's|^\\./||' | "
        f"if [ -d .git ] && command -v git >/dev/null; then {ignored}; else cat; fi"
    )
    done = await host.run(["sh", "-c", script])
    if done.returncode == 3:
        return None
    if done.returncode != 0:
        raise PodbayError(
            f"reading what changed in {ws.folder} on the machine failed: "
            f"{done.stderr.strip()[-200:]}",
            f"podbay status {ws.name}",
        )
    return sorted(line for line in done.stdout.splitlines() if line)


def names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def changed_here(ws: Workspace, files: list[str]) -> list[str]:
    """Of `files`, those changed in the folder here since the last mark."""
    since = ws.synced_at or 0.0
    local = Path(ws.source.value)
    found = []
    for name in files:
        try:
            if (local / name).stat().st_mtime > since:
                found.append(name)
        except FileNotFoundError:
            continue
    return found


def changed_locally(ws: Workspace) -> list[str]:
    """Files of the folder here changed since the last mark (not .git; in a git repository,
    not what git ignores), relative to it."""
    since = ws.synced_at or 0.0
    local = Path(ws.source.value)
    found: list[str] = []
    for folder, dirs, files in os.walk(local):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(folder) / name
            try:
                if not path.is_symlink() and path.stat().st_mtime > since:
                    found.append(path.relative_to(local).as_posix())
            except FileNotFoundError:
                continue
    if found and (local / ".git").exists():
        done = subprocess.run(
            ["git", "-C", str(local), "-c", "core.fsmonitor=false", "check-ignore", "--stdin",
             "-z", "--verbose", "--non-matching"],
            input="\0".join(found), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode in (0, 1):
            # SOURCE NUL LINE NUL PATTERN NUL PATH NUL; a path no rule ignores has none.
            fields = done.stdout.split("\0")
            found = [fields[i + 3] for i in range(0, len(fields) - 3, 4) if not fields[i]]
    return sorted(found)


@dataclass
class Synced:
    brought: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)  # changed here too (--force)
    sent: list[str] = field(default_factory=list)  # changed here, sent to the copy (--watch)
    # Changed again on the other side while this ran: left as they are, both sides dated so
    # that the next sync finds them changed on both.
    raced: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a link or outside the copy there


async def sync(host: HostSession, ws: Workspace, force: bool, both_ways: bool = False) -> Synced:
    """Bring the copy's changes back to the folder here (see the module's note); with
    `both_ways`, send the folder's changes to the copy too."""
    local = Path(ws.source.value)
    if not local.is_dir():
        raise PodbayError(
            f"the folder {ws.source.value} is not here any more",
            "put it back where it was to sync into it",
        )
    # Both sides' marks are taken before anything is read: what changes while this runs is
    # newer than them, and counts next time.
    started = time.time()
    await _run(host, ["touch", f"{mark_path(ws)}.next"], ws)
    files = await changed_on_machine(host, ws)
    if files is None:
        raise PodbayError(
            f"the copy of workspace {ws.name} on the machine has no sync mark (it was made "
            "before podbay kept one): podbay cannot tell what changed there",
            f"bring files back by hand: podbay exec {ws.name} -- cat FILE > FILE",
        )
    both = changed_here(ws, files)
    if both and not force:
        raise PodbayError(
            f"{len(both)} file(s) changed both here and on the machine: {names(both)}",
            f"keep what you need, then: podbay sync {ws.name} --force (the machine's win)",
        )
    sent: list[str] = []
    if both_ways:
        sent = sorted(set(await asyncio.to_thread(changed_locally, ws)) - set(files))
    since = ws.synced_at or 0.0
    done = Synced(brought=files, overwritten=both)
    if files:
        with tempfile.TemporaryDirectory(prefix="podbay-sync-") as folder:
            staged = Path(folder) / "copy"
            await host.copy_out(ws.folder, files, staged)
            late = await asyncio.to_thread(_place, staged, local, files, started, since, force)
        done.raced += late
        done.brought = [f for f in files if f not in late]
    if sent:
        raced, refused = await _send(host, ws, sent)
        done.sent = [f for f in sent if f not in raced and f not in refused]
        done.raced += raced
        done.refused = refused
        for name in raced:  # changed here too: so it stays, newer than this sync
            with contextlib.suppress(OSError):
                os.utime(local / name)
    await _run(host, ["mv", "-f", f"{mark_path(ws)}.next", mark_path(ws)], ws)
    if late := [f for f in done.raced if f in files]:  # changed there too: newer than the mark
        await host.run(["sh", "-c", 'cd "$1" && shift && touch -- "$@"', "sh", ws.folder, *late])
    ws.synced_at = started
    return done


async def _send(host: HostSession, ws: Workspace, files: list[str]) -> tuple[list[str], list[str]]:
    """The files here into the copy, dated as the machine's new mark (not newer than it: they
    are not changes made there), by assets/sync-send.sh; (those changed there meanwhile, left
    as they are; those it refused: through a link, or outside the copy)."""
    local = Path(ws.source.value)
    upload = f"{ws.folder.rstrip('/')}.podbay-upload"
    with tempfile.TemporaryDirectory(prefix="podbay-send-") as folder:
        staged = Path(folder) / "copy"
        for name in files:
            source = local / name
            if source.is_file() and not source.is_symlink():
                (staged / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, staged / name)
        if not staged.exists():
            return [], []
        await host.remove_tree(upload)
        await host.copy_in(staged, upload)
    script = scripts.command("sync-send.sh")
    done = await host.run(["sh", "-c", script, "sh", ws.folder, mark_path(ws) + ".next", upload])
    if done.returncode != 0:
        raise PodbayError(
            f"sending files to {ws.folder} on the machine failed: {done.stderr.strip()[-200:]}",
            f"podbay status {ws.name}",
        )
    said = done.stdout.splitlines()
    raced = [line.removeprefix("@raced ") for line in said if line.startswith("@raced ")]
    refused = [line.removeprefix("@outside ") for line in said if line.startswith("@outside ")]
    return raced, refused


async def _run(host: HostSession, argv: list[str], ws: Workspace) -> None:
    done = await host.run(argv)
    if done.returncode != 0:
        raise PodbayError(
            f"marking the copy on the machine failed: {done.stderr.strip()[-200:]}",
            f"podbay sync {ws.name} cannot tell what changed there until this works",
        )


def _place(
    staged: Path, local: Path, files: list[str], started: float, since: float, force: bool
) -> list[str]:
    """Each file into the folder here, dated when the sync started: a file edited here while
    it ran is newer, and counts as changed here next time. One changed here since the scan
    (after `since`) is not overwritten (unless `force`): returned, as raced."""
    raced = []
    for name in files:
        source = staged / name
        if not source.is_file() or source.is_symlink():
            continue
        target = local / name
        if not target.resolve().is_relative_to(local.resolve()):
            continue  # (never outside the folder, whatever the machine's names say)
        with contextlib.suppress(FileNotFoundError):
            if not force and target.stat().st_mtime > since:
                raced.append(name)
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        os.utime(target, (started, started))
    return raced
