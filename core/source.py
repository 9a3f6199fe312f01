"""What SOURCE in `podbay up SOURCE` means, and bringing it onto the machine.

Order of interpretation: `--image` forces an image; an existing path is a folder; a URL
(scheme://, user@host:path, or ending in .git) is a git repository with an optional
`@branch` or `@commit`; `template:NAME` or the bare name of a bundled template is a template;
anything else is an image reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from podbay.core import git_access, templates
from podbay.core.devcontainer.values import (
    IMAGE_REFERENCE,
    WORKSPACE_NAME,
    check_image,
    has_control,
    printable,
)
from podbay.core.errors import GitCloneFailed, SourceError
from podbay.core.host import HostSession
from podbay.core.model import Source, redact_url

_SCP_LIKE = re.compile(r"^[\w.-]+@(?!sha\d+:)[\w.-]+:")  # user@host:path, not IMAGE@sha256:
_REMOTE_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")  # git's <transport>::<address>
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def parse(text: str, *, image: str | None = None, cwd: Path | None = None) -> Source:
    """Interpret SOURCE (and --image); raises SourceError when it names nothing usable."""
    if image is not None:
        check_image(image, "--image")
    if image is not None and not text:
        return Source(kind="image", value=image)
    cwd = cwd or Path.cwd()
    if len(text) > 4096 or has_control(text):
        raise SourceError(
            f"SOURCE {printable(text)} is too long or holds a control character",
            "give a folder, a git URL, an image or a template name",
        )
    if "://" in text or _REMOTE_HELPER.match(text) or _SCP_LIKE.match(text):
        url, ref = split_git_ref(text)
        return Source(kind="git", value=check_git_url(url), ref=ref)
    if text.startswith("template:"):
        name = text.removeprefix("template:")
        if templates.get(name) is None:
            raise SourceError(f"no template named {name!r}", "list them with: podbay templates")
        return Source(kind="template", value=name)
    path = (cwd / text).expanduser()
    try:
        path.is_dir()
    except OSError as exc:  # a name longer than the file system takes, and the like
        raise SourceError(f"SOURCE {printable(text)}: {exc.strerror}", "check the SOURCE") from None
    if path.is_dir():
        folder = str(path.resolve())
        if has_control(folder):  # the working folder's own path, given as "."
            raise SourceError(
                f"folder {printable(folder)} has a control character in its path",
                "rename the folder; its name is shown and used inside the container",
            )
        return Source(kind="folder", value=folder)
    if path.exists():
        raise SourceError(
            f"{text} is a file, not a folder",
            "give the project folder that holds .devcontainer/devcontainer.json",
        )
    if text.removesuffix("/").split("@")[0].endswith(".git"):
        url, ref = split_git_ref(text)
        return Source(kind="git", value=check_git_url(url), ref=ref)
    if _looks_like_path(text):
        raise SourceError(f"folder {text} does not exist", "check the path, or clone it first")
    if templates.get(text) is not None:
        return Source(kind="template", value=text)
    if not IMAGE_REFERENCE.fullmatch(text):
        raise SourceError(
            f"{printable(text)} is not a folder, a git URL, a template or an image reference",
            "folders: ./NAME; git: https://HOST/REPO.git; images: NAME[:TAG] (lower-case), "
            "e.g. debian:bookworm; templates: podbay templates",
        )
    return Source(kind="image", value=text)


# git's own transports that podbay clones with; `ext::`, `fd::` and other remote helpers run
# programs or wait on file descriptors, so they are refused before git sees them.
GIT_PROTOCOLS = ("https", "http", "ssh", "git", "file")


def check_git_url(url: str) -> str:
    """`url` when git can clone it over one of GIT_PROTOCOLS (or scp-like user@host:path)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    if (scheme is None and _SCP_LIKE.match(url)) or scheme in GIT_PROTOCOLS:
        if url.startswith("-") or "://-" in url:
            raise SourceError(
                f"git URL {printable(redact_url(url))} starts with '-'",
                "give the repository's address as git prints it",
            )
        return url
    raise SourceError(
        f"{printable(redact_url(url))} is not a git URL podbay clones",
        "use https://, http://, ssh://, git://, file:// or user@host:path",
    )


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..")


def split_git_ref(text: str) -> tuple[str, str | None]:
    """`url@branch` / `url@sha` -> (url, ref). An @ before the path (user@host) is not a ref."""
    if "://" in text:
        scheme, rest = text.split("://", 1)
        slash = rest.find("/")
        path_start = len(scheme) + 3 + (slash if slash >= 0 else len(rest))
    elif _SCP_LIKE.match(text):
        path_start = text.index(":") + 1
    else:
        path_start = 0
    at = text.rfind("@", path_start)
    if at < 0:
        return text, None
    ref = text[at + 1 :]
    if not ref:
        raise SourceError(f"empty ref after @ in {text}", "write URL@branch or URL@commit")
    return text[:at], ref


def default_name(source: Source) -> str:
    """A workspace name from the source: folder or repo name, image name, template name."""
    if source.kind == "image":
        base = source.value.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    elif source.kind == "git":
        base = re.split(r"[/:]", source.value.rstrip("/"))[-1].removesuffix(".git")
    else:
        base = Path(source.value).name
    name = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:63].strip("-")
    return name or "workspace"


_REPO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def folder_name(source: Source, name: str) -> str:
    """The source's folder name inside the container (/workspaces/FOLDER_NAME), as the
    reference CLI names it: a folder's own name as it is, a repository's name; else `name`."""
    if source.kind == "folder":
        return Path(source.value).name or name
    if source.kind == "git":
        base = re.split(r"[/:]", source.value.rstrip("/"))[-1].removesuffix(".git")
        if _REPO_NAME.fullmatch(base):  # from a URL: only a plain name, never ../ or a quote
            return base
    return name


async def git_root(folder: Path) -> tuple[Path, str]:
    """The folder mounted for `folder` and `folder`'s path below it: its git repository's root
    when it is in one (found as the reference CLI finds it, `git rev-parse --show-cdup`), else
    the folder itself and "". (A folder source's path has its symbolic links resolved already:
    a folder given through a link is named by its target, where the reference keeps the
    link's name.)"""
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            "rev-parse",
            "--show-cdup",
            cwd=folder,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:  # no git here: the reference mounts the folder too
        return folder, ""
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return folder, ""
    cdup = out.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not cdup:
        return folder, ""
    root = Path(os.path.normpath(folder / cdup))
    rel = folder.relative_to(root) if folder.is_relative_to(root) else None
    if rel is None or has_control(str(root)):
        return folder, ""
    return root, rel.as_posix()


def check_name(name: str) -> str:
    if not WORKSPACE_NAME.fullmatch(name):
        raise SourceError(
            f"invalid workspace name {name!r}",
            "use lower-case letters, digits and '-' (it becomes the host name NAME.podbay)",
        )
    return name


def same_source(a: Source, b: Source) -> bool:
    return a.kind == b.kind and a.value == b.value and a.ref == b.ref


async def materialize(
    source: Source, dest: str, host: HostSession, on_line: Callable[[str], None] | None = None
) -> bool:
    """Bring the source to `dest` on the workspace's machine, this computer or its own: clone
    there, copy a template or a folder of this computer, or make an empty folder. True when
    this call made `dest`, False when it was there already (and is left as it is).

    Work happens in a hidden sibling renamed at the end, so `dest` exists only when complete:
    an interrupted clone leaves nothing that looks finished.
    """
    if await host.exists(dest):
        return False
    parent, _, base = dest.rstrip("/").rpartition("/")
    partial = f"{parent}/.{base}.partial-{uuid.uuid4().hex[:8]}"
    await host.mkdirs(parent)
    try:
        for stale in await host.list_dir(parent):
            if stale.startswith(f".{base}.partial-"):
                await host.remove_tree(f"{parent}/{stale}")
        if source.kind == "git":
            await _clone(source, partial, host, on_line)
        elif source.kind == "template":
            template = templates.get(source.value)
            if template is None:
                raise SourceError(f"no template named {source.value!r}", "see: podbay templates")
            await host.copy_in(template.path, partial)
        elif source.kind == "folder":
            if not Path(source.value).is_dir():
                raise SourceError(f"folder {source.value} does not exist", "was it moved?")
            await host.copy_in(Path(source.value), partial)
        else:
            await host.mkdirs(partial)
        await host.rename(partial, dest)
        return True
    except BaseException:
        # The first failure is the one to tell; a cleanup that fails too (a lost connection)
        # leaves a partial folder the next try clears.
        with contextlib.suppress(Exception):
            await asyncio.shield(host.remove_tree(partial))
        raise


async def _clone(
    source: Source, dest: Path | str, host: HostSession, on_line: Callable[[str], None] | None
) -> None:
    ref = source.ref
    by_commit = ref is not None and bool(_SHA.match(ref))
    argv = ["git", "clone", "--progress"]
    if ref and not by_commit:
        argv += ["--branch", ref, "--single-branch"]
    argv += ["--", source.value, str(dest)]
    output: list[str] = []

    def line(text: str) -> None:
        # Progress redraws with \r; each phase ends with a line of its own ("..., done.").
        text = text.rsplit("\r", 1)[-1].replace(source.value, source.display())
        output.append(text)
        if on_line is not None and text.strip():
            on_line(f"  {text}")

    async with git_access.for_clone(source.value, host) as access:
        code = await host.run_stream(
            ["git", *access.args, *argv[1:]],
            line,
            env={**GIT_ENV, **access.env},
            forward_agent=access.forward_agent,
        )
    if code != 0:
        reason = _git_reason("\n".join(output), source)
        hint = "check the URL and branch; git's own credentials (ssh keys, credential helper) apply"
        raise GitCloneFailed(
            f"git clone of {source.display()} failed: {reason}",
            access.hint if access.hint and _REFUSED.search("\n".join(output)) else hint,
        )
    if by_commit:
        assert ref is not None
        result = await host.run(["git", "-C", str(dest), "checkout", "--quiet", ref])
        if result.returncode != 0:
            raise GitCloneFailed(
                f"commit {ref} not found in {source.display()}: "
                f"{_git_reason(result.stderr, source)}",
                "check the commit id; it must be reachable from a branch of the repository",
            )


# git's words for "who are you?" (the hint then says how podbay lends your credentials).
_REFUSED = re.compile(
    r"Permission denied|Authentication failed|could not read (Username|Password)|"
    r"terminal prompts disabled|returned error: 40[13]",
    re.IGNORECASE,
)

# No prompts (there is no terminal to answer them), only podbay's transports (submodules too),
# and an HTTP transfer slower than 1 KB/s for a minute is given up instead of waited on forever.
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": ":".join(GIT_PROTOCOLS),
    "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
    "GIT_HTTP_LOW_SPEED_TIME": "60",
}


def _git_reason(stderr: str, source: Source) -> str:
    """git's own reason: its first `fatal:`/`error:` line (later lines are advice), with any
    credentials in the URL hidden."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    first = next((x for x in lines if x.startswith(("fatal:", "error:"))), None)
    text = first or (lines[-1] if lines else "no output")
    text = text.removeprefix("fatal: ").removeprefix("error: ")
    return text.replace(source.value, redact_url(source.value))
