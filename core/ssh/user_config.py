"""The one marked block podbay keeps in ~/.ssh/config: an Include of podbay's own file.

The user's file is theirs: it is read and written as bytes (any encoding, CRLF kept), changed
only between podbay's two markers, written atomically with its mode kept, and the previous
version is kept as `config.podbay-backup`. A file whose markers are not one begin line followed
by one end line is left alone, with the line named.
"""

from __future__ import annotations

import os
from pathlib import Path

from podbay.core.errors import PodbayError

BEGIN = "# >>> podbay >>> (podbay ssh-config install; remove: podbay ssh-config uninstall)"
END = "# <<< podbay <<<"
_BEGIN_PREFIX = b"# >>> podbay >>>"
_END = END.encode()


def user_ssh_config() -> Path:
    return Path.home() / ".ssh" / "config"


def backup_path(target: Path) -> Path:
    return target.with_name(target.name + ".podbay-backup")


def include_line(include: Path) -> str:
    """The Include line for `include`: OpenSSH globs the path (so `*?[]\\` are escaped for
    glob) after reading the quoted word (so `\\` and `"` are escaped again for that)."""
    globbed = "".join("\\" + c if c in "*?[]\\" else c for c in str(include))
    escaped = globbed.replace("\\", "\\\\").replace('"', '\\"')
    return f'Include "{escaped}"'


def _refuse(target: Path, why: str, include: Path | None) -> PodbayError:
    where = include_line(include) if include else "podbay's block"
    hint = f"add this line at its top yourself: {where}" if include else f"remove {where} yourself"
    return PodbayError(f"{target} {why}; podbay leaves it alone", hint)


def install(target: Path, include: Path) -> bool:
    """Put the block at the top (Include must precede Host sections); False when present."""
    data = _read(target, include)
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    block = newline.join([BEGIN.encode(), include_line(include).encode(), _END]) + newline
    found = _block(data, target, include)
    if found is not None and data[found[0] : found[1]] == block and found[0] == 0:
        return False
    rest = _without(data, found)
    _write(target, block + (newline + rest if rest else b""), include)
    return True


def installed(target: Path) -> bool:
    """Whether the file has podbay's block, so that `ssh NAME.podbay` works; False for a file
    that cannot be read or whose markers podbay would not touch."""
    try:
        data = target.read_bytes()
        return _block(data, target, None) is not None
    except (OSError, PodbayError):
        return False


def uninstall(target: Path) -> bool:
    if not target.exists() and not target.is_symlink():
        return False
    data = _read(target, None)
    found = _block(data, target, None)
    if found is None:
        return False
    _write(target, _without(data, found), None)
    return True


def _read(target: Path, include: Path | None) -> bytes:
    if target.is_symlink():
        raise _refuse(target, "is a symbolic link", include)
    if target.exists() and not target.is_file():
        raise _refuse(target, "is not a regular file", include)
    try:
        return target.read_bytes() if target.exists() else b""
    except OSError as exc:
        raise _refuse(target, f"cannot be read ({exc.strerror})", include) from None


def _block(data: bytes, target: Path, include: Path | None) -> tuple[int, int] | None:
    """Byte offsets of podbay's block (begin line through end line), None when there is none."""
    begins: list[tuple[int, int]] = []  # (line number, offset)
    ends: list[tuple[int, int]] = []  # (line number, offset after the line)
    offset = 0
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        text = line.rstrip(b"\r\n").rstrip()
        if text.startswith(_BEGIN_PREFIX):
            begins.append((number, offset))
        elif text == _END:
            ends.append((number, offset + len(line)))
        offset += len(line)
    if not begins and not ends:
        return None
    if len(begins) == 1 and len(ends) == 1 and begins[0][0] < ends[0][0]:
        return begins[0][1], ends[0][1]
    if len(begins) > 1:
        why = f"has podbay's begin marker twice (line {begins[1][0]})"
    elif len(ends) > 1:
        why = f"has podbay's end marker twice (line {ends[1][0]})"
    elif not ends:
        why = f"has podbay's begin marker without an end marker (line {begins[0][0]})"
    elif not begins:
        why = f"has podbay's end marker without a begin marker (line {ends[0][0]})"
    else:
        why = f"has podbay's end marker before its begin marker (line {ends[0][0]})"
    raise _refuse(target, why, include)


def _without(data: bytes, found: tuple[int, int] | None) -> bytes:
    """The file without podbay's block, and without the blank line install put after it."""
    if found is None:
        return data
    start, end = found
    rest = data[end:]
    if start == 0:
        for separator in (b"\r\n", b"\n"):
            if rest.startswith(separator):
                rest = rest[len(separator) :]
                break
    return data[:start] + rest


def _write(target: Path, data: bytes, include: Path | None) -> None:
    # A file without its owner's write bit was made read-only on purpose (root included).
    exists = target.exists()
    if exists and (not os.access(target, os.W_OK) or not target.stat().st_mode & 0o200):
        raise _refuse(target, "is read-only", include)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o777 if exists else 0o600
        if exists:
            _atomic(backup_path(target), target.read_bytes(), 0o600)
        _atomic(target, data, mode)
    except OSError as exc:
        raise _refuse(target, f"could not be written ({exc.strerror})", include) from None


def _atomic(path: Path, data: bytes, mode: int) -> None:
    partial = path.with_name(f".{path.name}.podbay-{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, mode)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
