"""Find a folder's devcontainer.json in the spec's locations; several means ask, never guess."""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigNotFound, SeveralConfigs

# What a folder's config can be made of: copy these and the config can be found in the copy.
CONFIG_ENTRIES = (".devcontainer", ".devcontainer.json")


def candidates(folder: Path) -> list[Path]:
    """Every config in the spec's locations, in the spec's order of precedence."""
    found = [
        path
        for path in (folder / ".devcontainer" / "devcontainer.json", folder / ".devcontainer.json")
        if path.is_file()
    ]
    sub = folder / ".devcontainer"
    if sub.is_dir():
        found += sorted(p for p in sub.glob("*/devcontainer.json") if p.is_file())
    return found


def find(folder: Path, explicit: str | None = None) -> Path:
    """The config to use for `folder`, or a clear error when there is none or several."""
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            in_folder = folder / path
            path = in_folder if in_folder.exists() or not path.exists() else path.resolve()
        if not path.is_file():
            odd = _odd(path)
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
    found = candidates(folder)
    for path in (folder / ".devcontainer" / "devcontainer.json", folder / ".devcontainer.json"):
        odd = _odd(path)
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
            f"several configs in {folder}: {names}",
            f"choose one with --config, e.g. --config {found[0].relative_to(folder)}",
        )
    return found[0]


def _odd(path: Path) -> str:
    """Why a config path that is not a readable file is not one ("" when it is simply absent)."""
    if path.is_symlink() and not path.exists():
        return f"is a broken symbolic link (to {path.readlink()})"
    if path.is_dir():
        return "is a directory"
    if path.exists() and not path.is_file():
        return "is not a regular file"
    return ""
