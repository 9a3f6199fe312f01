"""The files a config is read from, named by their real paths wherever they are.

On this computer the paths are read as they are. For a workspace on its own machine podbay
reads a local copy of the folder's devcontainer files, but every path the finder and the
parser see (and so every error message, with its line:col) is the path on the machine.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class Files:
    """Read-only access to config files; `Files()` reads this computer's own files."""

    def __init__(self, real_root: str | None = None, copy_root: Path | None = None) -> None:
        self._real = PurePosixPath(real_root) if real_root is not None else None
        self._copy = copy_root

    @classmethod
    def copy_of(cls, real_root: str, copy_root: Path) -> Files:
        """Files under `real_root` (on another machine) read from `copy_root` here; any path
        outside `real_root` does not exist."""
        return cls(real_root, copy_root)

    @property
    def local(self) -> bool:
        return self._real is None

    def _here(self, path: Path) -> Path:
        if self._real is None or self._copy is None:
            return path
        try:
            return self._copy / PurePosixPath(path).relative_to(self._real)
        except ValueError:
            return self._copy / ".podbay-outside" / "missing"  # never made: does not exist

    def _real_path(self, here: Path) -> Path:
        if self._real is None or self._copy is None:
            return here
        return Path(self._real / here.relative_to(self._copy))

    def is_file(self, path: Path) -> bool:
        return self._here(path).is_file()

    def is_dir(self, path: Path) -> bool:
        return self._here(path).is_dir()

    def exists(self, path: Path) -> bool:
        return self._here(path).exists()

    def is_symlink(self, path: Path) -> bool:
        return self._here(path).is_symlink()

    def readlink(self, path: Path) -> Path:
        return self._here(path).readlink()

    def glob(self, folder: Path, pattern: str) -> list[Path]:
        return [self._real_path(p) for p in self._here(folder).glob(pattern)]

    def read_text(self, path: Path) -> str:
        return self._here(path).read_text(encoding="utf-8")

    def read_bytes(self, path: Path) -> bytes:
        return self._here(path).read_bytes()

    def resolve(self, path: Path) -> Path:
        """The path with links followed (machine paths are taken as they are)."""
        return path.resolve() if self._real is None else path


LOCAL = Files()
