"""Your dotfiles in every new container: the `dotfiles` setting (a git repository and an
optional install command), for every workspace or one.

The repository is cloned on this computer, with your own git access (no credential reaches the
container), and copied into the container's `~/dotfiles`, owned by its remote user. There the
install command runs; without one, the first of install.sh, install, bootstrap.sh, bootstrap,
script/bootstrap, setup.sh, setup, script/setup; without any, its dotfiles are linked into ~
(the reference CLI's rules). Once per container, after postCreateCommand and before
postStartCommand, as the reference CLI does. A failure, or an install that does not finish in
time (it is stopped), is a warning: the workspace is ready without them.

Settings live in the store (`dotfiles` and `dotfiles:NAME`), apart from the workspace's record.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from podbay.core import git_access, hooks, scripts
from podbay.core import source as sources
from podbay.core.devcontainer.values import has_control, printable
from podbay.core.errors import PodbayError
from podbay.core.host import LocalHost
from podbay.core.model import Source, Workspace, redact_url

if TYPE_CHECKING:
    from podbay.core.docker import DockerEndpoint
    from podbay.core.reporter import Reporter
    from podbay.core.store import Store

KEY = "dotfiles"
NONE = "none"  # a workspace's setting: no dotfiles, whatever the default
DEFAULT_TIMEOUT = 600  # seconds an install may take before it is stopped


class Dotfiles(BaseModel):
    url: str  # a git URL podbay clones, or a folder of this computer holding a repository
    install: str = ""  # a file of the repository or a command line; "": found as above
    timeout: int = DEFAULT_TIMEOUT

    def shown(self) -> str:
        return redact_url(self.url) + (f" (install: {self.install})" if self.install else "")


def check(url: str, install: str = "", timeout: int = DEFAULT_TIMEOUT) -> Dotfiles:
    """A setting from what the user typed; one line and a hint when it cannot be used."""
    if has_control(url) or has_control(install):
        raise PodbayError(
            "the dotfiles URL or install command holds a control character",
            "give the repository's URL as git prints it",
        )
    if not 1 <= timeout <= 24 * 3600:
        raise PodbayError(f"timeout {timeout} is not 1 to 86400 seconds", "e.g. --timeout 600")
    folder = Path(url).expanduser()
    if url.startswith(("/", "./", "../", "~")) or folder.is_dir():
        if not folder.is_dir():
            raise PodbayError(f"dotfiles folder {url} does not exist", "give a git URL or folder")
        return Dotfiles(url=str(folder.resolve()), install=install, timeout=timeout)
    if git_access.remote(url).has_credentials:
        raise PodbayError(
            f"the dotfiles URL {redact_url(url)} holds a password",
            "give the URL without it; the clone uses your git credential helper here",
        )
    try:
        checked = sources.check_git_url(url)
    except PodbayError as exc:
        raise PodbayError(
            f"dotfiles: {exc.message}",
            "give the repository's full URL, e.g. https://HOST/ME/dotfiles.git",
        ) from None
    return Dotfiles(url=checked, install=install, timeout=timeout)


def _read(store: Store, key: str) -> Dotfiles | None:
    """The setting under `key`; None when there is none (or it is `none`, or unreadable)."""
    value = store.get_meta(key) or ""
    if value in ("", NONE):
        return None
    try:
        return Dotfiles.model_validate_json(value)
    except ValidationError:
        return None


def default(store: Store) -> Dotfiles | None:
    return _read(store, KEY)


def for_workspace(store: Store, name: str) -> tuple[Dotfiles | None, str]:
    """The workspace's dotfiles and where the setting comes from ("workspace" or "default")."""
    key = f"{KEY}:{name}"
    if store.get_meta(key) == NONE:
        return None, "workspace"
    own = _read(store, key)
    if own is not None:
        return own, "workspace"
    return default(store), "default"


def choose(store: Store, name: str | None, value: Dotfiles | str | None) -> None:
    """Set the default (name None) or a workspace's setting: dotfiles, None (no dotfiles) or
    "default" (a workspace follows the default again)."""
    key = KEY if name is None else f"{KEY}:{name}"
    if isinstance(value, Dotfiles):
        store.set_meta(key, value.model_dump_json())
    elif value == "default" or (value is None and name is None):
        store.set_meta(key, "")
    else:
        store.set_meta(key, NONE)


async def apply(
    ws: Workspace,
    dotfiles: Dotfiles,
    folder: str,
    docker: DockerEndpoint,
    report: Reporter,
    origin: str = "default",
) -> bool:
    """Clone, copy in and install `dotfiles` (the workspace's own setting, or the default:
    `origin`) in its container; True when they were installed. Never raises for the dotfiles'
    own faults: a warning says what went wrong."""
    assert ws.container_id is not None
    report.step(f"installing dotfiles from {redact_url(dotfiles.url)}")
    try:
        where = await _copy_in(ws, ws.container_id, dotfiles, docker, report)
    except PodbayError as exc:
        report.warn(f"dotfiles not installed: {exc.message} ({exc.hint})")
        return False
    if where:
        report.log(where)
    argv = ["/bin/sh", "-c", scripts.command("dotfiles-install.sh"), "sh", dotfiles.install]
    try:
        await asyncio.wait_for(
            hooks.run_command(ws, "the dotfiles' install", argv, folder, docker, report),
            dotfiles.timeout,
        )
    except TimeoutError:
        report.warn(
            f"dotfiles: the install did not finish in {dotfiles.timeout} s and was stopped; "
            "the workspace is ready without it (more time: podbay dotfiles "
            f"{'' if origin == 'default' else ws.name + ' '}--set URL --timeout SECONDS)"
        )
        return False
    except PodbayError as exc:
        report.warn(f"dotfiles: {exc.message}; the workspace is ready without them")
        return False
    return True


# The remote user's uid, gid and home, and whether ~/dotfiles is there: shell builtins only.
_WHO = """
while read -r key value _; do
  case "$key" in Uid:) uid=$value ;; Gid:) gid=$value ;; esac
done < /proc/self/status
[ -e "$HOME/dotfiles" ] && there=1 || there=0
printf '%s %s %s %s' "$uid" "$gid" "$there" "$HOME"
"""


async def _copy_in(
    ws: Workspace, container: str, dotfiles: Dotfiles, docker: DockerEndpoint, report: Reporter
) -> str:
    """Put the repository at ~/dotfiles (as the remote user's files); what was done."""

    def who() -> str:
        output, exit_code = docker.exec_stream(
            container, ["/bin/sh", "-c", _WHO], ws.remote_user, None, {}
        )
        text = b"".join(output).decode("utf-8", "replace")
        return text if exit_code() == 0 else ""

    uid, gid, there, home = ([*(await asyncio.to_thread(who)).split(" ", 3), "", "", "", ""])[:4]
    if not (uid.isdigit() and gid.isdigit() and home.startswith("/")):
        raise PodbayError(
            f"the container's user {ws.remote_user or 'root'} has no readable home",
            "set remoteUser to a user with a home folder",
        )
    if there == "1":
        return f"{home}/dotfiles is already there: it is used as it is"
    with tempfile.TemporaryDirectory(prefix="podbay-dotfiles-") as temp:
        clone = Path(temp) / "dotfiles"
        source = Source(kind="git", value=dotfiles.url)
        await sources.materialize(source, str(clone), LocalHost(docker), report.log)
        data = await asyncio.to_thread(_archive, clone, int(uid), int(gid))
    try:
        await asyncio.to_thread(docker.put_archive, container, home, data)
    except Exception as exc:  # (a home that is not there is the SDK's NotFound)
        why = exc.message if isinstance(exc, PodbayError) else str(exc)
        raise PodbayError(
            f"cannot copy them into {printable(home)}: {printable(why, 200)}",
            "check that the remote user's home folder exists and is writable",
        ) from None
    return f"copied into {home}/dotfiles"


def _archive(folder: Path, uid: int, gid: int) -> bytes:
    """`folder` as a tar of `dotfiles/...`, every entry owned by uid:gid."""

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname="dotfiles", filter=owned)
    return buffer.getvalue()
