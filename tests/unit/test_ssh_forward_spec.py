from __future__ import annotations

import pytest

from podbay.core.errors import PodbayError
from podbay.core.ssh.client import parse_forward, remote_command


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("8000", (8000, "localhost", 8000)),
        ("8000:9000", (9000, "localhost", 8000)),
        (3000, (3000, "localhost", 3000)),
        ("db:5432", (5432, "db", 5432)),
        ("8000:0", (0, "localhost", 8000)),  # any free local port
    ],
)
def test_port_specs(spec: str | int, parsed: tuple[int, str, int]) -> None:
    assert parse_forward(spec) == parsed


@pytest.mark.parametrize(
    "spec",
    ["http", "80:x", "", "70000", "-1", "0", "0:0", "8000:70000", "::::", 70000, 0, "a b:80"],
)
def test_bad_port_specs(spec: str | int) -> None:
    # The review's U5: 70000 listened on 4464 and printed a URL with 70000.
    with pytest.raises(PodbayError):
        parse_forward(spec)


def test_remote_command_starts_in_the_folder_and_quotes() -> None:
    assert remote_command("/w s", ["echo", "a b"]) == "cd '/w s' 2>/dev/null; exec echo 'a b'"
    assert remote_command(None, None) == 'exec "${SHELL:-/bin/sh}" -l'


def test_one_argument_is_a_shell_command_line_as_with_ssh() -> None:
    # The review's W7: `podbay ssh NAME -- 'id; pwd'` answered "exec: id; pwd: not found".
    assert remote_command("/w", ["id; pwd"]) == "cd /w 2>/dev/null; id; pwd"
    assert remote_command(None, ["sh", "-c", "a; b"]) == "exec sh -c 'a; b'"
