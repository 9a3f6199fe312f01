from __future__ import annotations

import pytest

from core.errors import PodbayError
from core.ssh.client import parse_forward, remote_command


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("8000", (8000, "localhost", 8000)),
        ("8000:9000", (9000, "localhost", 8000)),
        (3000, (3000, "localhost", 3000)),
        ("db:5432", (5432, "db", 5432)),
    ],
)
def test_port_specs(spec: str | int, parsed: tuple[int, str, int]) -> None:
    assert parse_forward(spec) == parsed


@pytest.mark.parametrize("spec", ["http", "80:x", ""])
def test_bad_port_specs(spec: str) -> None:
    with pytest.raises(PodbayError):
        parse_forward(spec)


def test_remote_command_starts_in_the_folder_and_quotes() -> None:
    assert remote_command("/w s", ["echo", "a b"]) == "cd '/w s' 2>/dev/null; exec echo 'a b'"
    assert remote_command(None, None) == 'exec "${SHELL:-/bin/sh}" -l'
