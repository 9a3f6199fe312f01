"""What deleting a workspace would lose: work in the copy of the source that podbay owns.

A git clone is checked as `git worktree remove` would (changes, untracked files) and more:
commits that are on no remote, commits only reachable from a detached HEAD, stashes. A folder
that is not a git repository (a template copy, an image's empty folder) is checked for files
that podbay did not put there. The checks run where the folder is, through the host session.
"""

from __future__ import annotations

import contextlib
import filecmp
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podbay.core import templates
from podbay.core.host import HostSession
from podbay.core.model import Workspace
from podbay.core.ssh.bundle import is_ours

_SHOWN = 3  # names listed per item


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


async def work_at_risk(ws: Workspace, host: HostSession) -> list[str]:
    """One line per kind of work that `delete` would remove; [] when nothing would be lost."""
    if not ws.owned_folder:
        return []  # the user's own folder is never deleted
    folder = ws.folder
    if host.local:
        git_dir = Path(folder) / ".git"
        if git_dir.is_dir() and not git_dir.is_symlink():
            with _shadow_git_dir(git_dir) as shadow:
                return await _git_work(
                    ["git", f"--git-dir={shadow}", f"--work-tree={folder}"], host
                )
        return _extra_files(ws, Path(folder))
    # On a machine of its own (a VM), which the container can reach anyway: git as it is there,
    # with the settings that run programs switched off.
    owned = ["git", "-c", f"safe.directory={folder}", "-C", folder]
    top = await host.run([*owned, "rev-parse", "--show-toplevel"])
    if top.returncode == 0 and top.stdout.strip() == folder.rstrip("/"):
        names = await host.run([*owned, "config", "--includes", "--name-only", "--list"])
        for name in names.stdout.splitlines():
            if re.fullmatch(r"filter\..+\.(clean|smudge|process)", name, re.IGNORECASE):
                owned[1:1] = ["-c", f"{name}="]
        return await _git_work(owned, host)
    listed = await host.run(["find", folder, "-type", "f", "-not", "-path", "*/.git/*"])
    files = [line for line in listed.stdout.splitlines() if line]
    return [f"{_count(len(files), 'file', 'files')} in {folder}"] if files else []


# A git directory with podbay's own config beside the clone's refs, objects and index. The
# clone is shared with the container, so its .git/config is as untrusted as the image: with it,
# `git status` could run a program on this computer (core.fsmonitor, a clean filter, an include
# of either, gpg for a signed commit). Read through this, git sees none of it.
_SHARED = ("objects", "refs", "packed-refs", "index", "logs", "shallow")


@contextlib.contextmanager
def _shadow_git_dir(git_dir: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="podbay-git-") as folder:
        shadow = Path(folder)
        for name in _SHARED:
            if (git_dir / name).exists():
                (shadow / name).symlink_to(git_dir / name)
        with contextlib.suppress(OSError):
            (shadow / "HEAD").write_bytes((git_dir / "HEAD").read_bytes()[:4096])
        # Only what says how to read the repository (e.g. sha256 objects) is carried over;
        # reading a config file with --file runs nothing.
        kept = subprocess.run(
            [
                "git",
                "config",
                "--file",
                str(git_dir / "config"),
                "--get-regexp",
                r"^(core\.repositoryformatversion|extensions\..*)$",
            ],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        ).stdout
        lines = ["[core]", "\tbare = false"]
        for line in kept.splitlines():
            key, _, value = line.partition(" ")
            section, _, name = key.rpartition(".")
            if re.fullmatch(r"[A-Za-z0-9.]+", key) and re.fullmatch(r"[A-Za-z0-9._-]*", value):
                lines += [f"[{section}]", f"\t{name} = {value}"]
        (shadow / "config").write_text("\n".join(lines) + "\n")
        yield shadow


_SAFE_GIT = [
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "log.showSignature=false",
    "-c",
    "core.quotePath=true",
]


async def _git_work(base: list[str], host: HostSession) -> list[str]:
    failed: list[str] = []
    command = [base[0], *_SAFE_GIT, *base[1:], "--no-optional-locks"]

    async def git(*args: str) -> list[str]:
        result = await host.run([*command, *args])
        if result.returncode != 0:
            failed.append(f"git {args[0]} could not check it: {result.stderr.strip()[:200]}")
        return [line for line in result.stdout.splitlines() if line]

    found: list[str] = []
    status = await git(
        "status", "--porcelain=v1", "--untracked-files=all", "--ignore-submodules=all"
    )
    changed = [line[3:] for line in status if not line.startswith("??")]
    untracked = [line[3:] for line in status if line.startswith("??")]
    if changed:
        what = _count(len(changed), "uncommitted change", "uncommitted changes")
        found.append(f"{what} ({_names(changed)})")
    if untracked:
        what = _count(len(untracked), "untracked file", "untracked files")
        found.append(f"{what} ({_names(untracked)})")
    log = ("log", "--no-show-signature", "--format=%h %s")
    unpushed = await git(*log, "--branches", "--not", "--remotes")
    if unpushed:
        found.append(
            f"{_count(len(unpushed), 'commit', 'commits')} on no remote ({_names(unpushed)})"
        )
    on_branch = await host.run([*command, "symbolic-ref", "-q", "HEAD"])
    detached = (
        []
        if on_branch.returncode == 0
        else await git(*log, "HEAD", "--not", "--branches", "--remotes")
    )
    if detached:
        found.append(
            f"{_count(len(detached), 'commit', 'commits')} on a detached HEAD, on no branch "
            f"({_names(detached)})"
        )
    stashes = await git("stash", "list", "--no-show-signature")
    if stashes:
        found.append(_count(len(stashes), "stash", "stashes"))
    return found + failed


def _extra_files(ws: Workspace, folder: Path) -> list[str]:
    """Files in a non-git folder that are not the template's own, unchanged."""
    template = templates.get(ws.source.value) if ws.source.kind == "template" else None
    extra: list[str] = []
    if not folder.is_dir() or folder.is_symlink():
        return []
    for path in sorted(folder.rglob("*")):
        if (path.is_dir() and not path.is_symlink()) or ".git" in path.relative_to(folder).parts:
            continue
        relative = path.relative_to(folder)
        original = template.path / relative if template else None
        unchanged = (
            original is not None
            and original.is_file()
            and not path.is_symlink()
            and filecmp.cmp(original, path, shallow=False)
        )
        if not unchanged:
            extra.append(str(relative))
    if not extra:
        return []
    what = "new or changed file" if template else "file"
    return [f"{_count(len(extra), what, what + 's')} ({_names(extra)})"]


def _anonymous(name: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{64}", name))


def volumes_at_risk(container: dict[str, Any]) -> list[str]:
    """Anonymous volumes of a container: `delete` removes them with it (named ones stay)."""
    return [
        f"the anonymous volume at {mount.get('Destination')} (removed with the container)"
        for mount in container.get("Mounts") or []
        if mount.get("Type") == "volume" and _anonymous(str(mount.get("Name") or ""))
    ]


def named_volumes(container: dict[str, Any]) -> list[tuple[str, str]]:
    """Named volumes of a container, which `delete` keeps: (name, where it is mounted)."""
    return [
        (str(mount.get("Name")), str(mount.get("Destination")))
        for mount in container.get("Mounts") or []
        if mount.get("Type") == "volume"
        and not _anonymous(str(mount.get("Name") or ""))
        and not is_ours(str(mount.get("Name") or ""))  # podbay's sshd, shared
    ]
