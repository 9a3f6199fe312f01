"""Find a folder's devcontainer.json in the spec's locations; several means ask, never guess."""

from __future__ import annotations

from pathlib import Path

from podbay.core.devcontainer.files import LOCAL, Files
from podbay.core.errors import ConfigNotFound, SeveralConfigs

# What a folder's config can be made of: copy these and the config can be found in the copy.
CONFIG_ENTRIES = (".devcontainer", ".devcontainer.json", ".devcontainer-lock.json")


def candidates(folder: Path, files: Files = LOCAL) -> list[Path]:
    """The configs to choose from, by the spec's precedence: `.devcontainer/devcontainer.json`,
    else `.devcontainer.json`, else every `.devcontainer/<folder>/devcontainer.json` (several of
    those have no order among them: the user chooses)."""
    for path in (folder / ".devcontainer" / "devcontainer.json", folder / ".devcontainer.json"):
        if files.is_file(path):
            return [path]
    sub = folder / ".devcontainer"
    if not files.is_dir(sub):
        return []
    return sorted(p for p in files.glob(sub, "*/devcontainer.json") if files.is_file(p))


def choices(folder: Path) -> list[str]:
    """The configs a user must choose among for `folder` (relative paths, for --config), or []
    when the spec's order picks one (or there is none)."""
    found = candidates(folder)
    return [str(p.relative_to(folder)) for p in found] if len(found) > 1 else []


def find(folder: Path, explicit: str | None = None, files: Files = LOCAL) -> Path:
    """The config to use for `folder`, or a clear error when there is none or several.
    `files` reads them (another machine's folder through a local copy)."""
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            in_folder = folder / path
            if not (files.exists(in_folder) or not files.exists(path)):
                in_folder = files.resolve(path)
            path = in_folder
        if not files.is_file(path):
            odd = _odd(path, files)
            raise ConfigNotFound(
                f"config file {explicit} {odd or 'not found'}",
                f"give a path relative to {folder} or an absolute path",
            )
        if path.name not in ("devcontainer.json", ".devcontainer.json"):
            raise ConfigNotFound(
                f"{explicit} is not named devcontainer.json or .devcontainer.json",
                "rename the file; tools find configs by these names",
            )
        return path
    found = candidates(folder, files)
    for path in (folder / ".devcontainer" / "devcontainer.json", folder / ".devcontainer.json"):
        odd = _odd(path, files)
        if not found and odd:
            raise ConfigNotFound(
                f"{path} {odd}", "devcontainer.json must be a file (a link to a file is fine)"
            )
    if not found:
        raise ConfigNotFound(
            f"no devcontainer.json in {folder}",
            "add .devcontainer/devcontainer.json, or pass --image IMAGE to use an image as is",
        )
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in found)
        raise SeveralConfigs(
            f"{folder} has a config in each of several folders of .devcontainer: {names}",
            f"choose one with --config, e.g. --config {found[0].relative_to(folder)}",
        )
    return found[0]


def _odd(path: Path, files: Files) -> str:
    """Why a config path that is not a readable file is not one ("" when it is simply absent)."""
    if files.is_symlink(path) and not files.exists(path):
        return f"is a broken symbolic link (to {files.readlink(path)})"
    if files.is_dir(path):
        return "is a directory"
    if files.exists(path) and not files.is_file(path):
        return "is not a regular file"
    return ""
