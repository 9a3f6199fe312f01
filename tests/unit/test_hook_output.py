"""The first hook's output from the SSH setup's exec: the script's "@hook" marker comes on
stdout, the hook's stderr may come before it (the engine reads the two pipes apart)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from podbay.core.ssh.bootstrap import _HookOutput


class Chunks:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("chunks", "started", "shown"),
    [
        ([b"@hook\nout\n"], True, b"out\n"),
        ([b"boom\n", b"@hook\n", b"more\n"], True, b"boom\nmore\n"),  # stderr first
        ([b"bo", b"@hook\n", b"om\n"], True, b"boom\n"),  # inside a line
        ([b"sh: cannot cd\n"], False, b"sh: cannot cd\n"),  # the hook never started
    ],
)
def test_the_marker_is_found_wherever_the_hooks_stderr_puts_it(
    chunks: list[bytes], started: bool, shown: bytes
) -> None:
    output = _HookOutput(Chunks(chunks), b"")  # type: ignore[arg-type]
    got: Any = b"".join(output)
    assert (output.started, got) == (started, shown)
