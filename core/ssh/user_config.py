"""The one marked block podbay keeps in ~/.ssh/config: an Include of podbay's own file."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import PodbayError

BEGIN = "# >>> podbay >>> (podbay ssh-config install; remove: podbay ssh-config uninstall)"
END = "# <<< podbay <<<"


def user_ssh_config() -> Path:
    return Path.home() / ".ssh" / "config"


def include_line(include: Path) -> str:
    return f'Include "{include}"'


def _refuse(target: Path, why: str, include: Path) -> PodbayError:
    return PodbayError(
        f"{target} {why}; podbay leaves it alone",
        f"add this line at its top yourself: {include_line(include)}",
    )


def install(target: Path, include: Path) -> bool:
    """Put the block at the top (Include must precede Host sections); False when present."""
    if target.is_symlink():
        raise _refuse(target, "is a symbolic link", include)
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    block = f"{BEGIN}\n{include_line(include)}\n{END}\n"
    if block in text:
        return False
    rest = _without_block(text)
    _write(target, block + ("\n" + rest if rest.strip() else ""), include)
    return True


def uninstall(target: Path) -> bool:
    if not target.exists():
        return False
    text = target.read_text(encoding="utf-8")
    rest = _without_block(text)
    if rest == text:
        return False
    _write(target, rest.lstrip("\n"), None)
    return True


def _without_block(text: str) -> str:
    lines = text.splitlines(keepends=True)
    out, inside = [], False
    for line in lines:
        if line.rstrip("\n") == BEGIN:
            inside = True
        elif inside and line.rstrip("\n") == END:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def _write(target: Path, text: str, include: Path | None) -> None:
    # A file without its owner's write bit was made read-only on purpose (root included).
    if target.exists() and (not os.access(target, os.W_OK) or not target.stat().st_mode & 0o200):
        raise _refuse(target, "is read-only", include or Path("<podbay home>/ssh_config"))
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    partial = target.with_name(f".{target.name}.podbay-{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    partial.replace(target)
