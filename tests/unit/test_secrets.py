"""`podbay secret`: values in the keyring (its file backend here) or podbay's 0600 file,
references kept as written; never a value in podbay's state or output."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import Podbay
from tests.unit.test_cli_errors import assert_clean_error

ROOT = Path(__file__).resolve().parents[2]
VALUE = "hunter2-of-the-podbay-tests"


def test_a_secret_goes_to_the_keyring_and_is_listed_without_its_value(podbay: Podbay) -> None:
    set_ = podbay.ok("secret", "set", "DB_PASSWORD", input=VALUE + "\n")
    assert set_.stdout == "secret DB_PASSWORD for every workspace: kept in the keyring\n"
    assert podbay.json("secret", "list") == {
        "secrets": [{"name": "DB_PASSWORD", "workspace": None, "where": "keyring"}],
        "outcome": "success",
    }
    keyring_file = podbay.home / "xdg" / "python_keyring" / "keyring_pass.cfg"
    assert keyring_file.is_file()  # (the file backend keeps it encoded, not as written)
    for path in podbay.home.rglob("*"):
        if path.is_file() and path != keyring_file:
            assert VALUE.encode() not in path.read_bytes(), path
    # (--json before the action too, as `podbay secret -h` offers it)
    assert json.loads(podbay.ok("secret", "--json", "list").stdout)["secrets"][0]["name"] == (
        "DB_PASSWORD"
    )
    podbay.ok("secret", "rm", "DB_PASSWORD")
    assert podbay.json("secret", "list")["secrets"] == []


@pytest.mark.parametrize(
    "backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"]
)
def test_without_a_keyring_a_secret_goes_to_a_file_only_its_owner_reads(
    podbay: Podbay, backend: str
) -> None:
    """No keyring, or one turned off (`keyring --disable`: it takes values and drops them)."""
    env = {"PYTHON_KEYRING_BACKEND": backend}
    set_ = podbay.ok("secret", "set", "TOKEN", input=VALUE, env=env)
    assert set_.stdout.endswith("kept in podbay's 0600 file\n")
    file = podbay.home / "secrets.json"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert json.loads(file.read_text()) == {"*/TOKEN": VALUE}
    podbay.ok("secret", "rm", "TOKEN", env=env)
    assert json.loads(file.read_text()) == {}


def test_a_reference_is_kept_as_written(podbay: Podbay) -> None:
    set_ = podbay.ok("secret", "set", "API_KEY", "--ref", "ssm:/team/api-key")
    assert "no provider here reads ssm:/team/api-key yet" in set_.stderr  # (none added)
    shown = set_.stdout
    assert shown == "secret API_KEY for every workspace: read from ssm:/team/api-key when used\n"
    [row] = podbay.json("secret", "list")["secrets"]
    assert row == {
        "name": "API_KEY", "workspace": None, "where": "reference",
        "reference": "ssm:/team/api-key",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["set", "1BAD"], "not usable as an environment variable"),
        (["set", "PATH"], "not usable as an environment variable"),
        (["set", "DOCKER_HOST"], "not usable as an environment variable"),
        (["set", "UID"], "not usable as an environment variable"),
        (["set", "GIT_ASKPASS"], "not usable as an environment variable"),
        (["set", "X", "--ref", "vault:/x"], "not a secret reference"),
        (["set", "X", "--provider", "aws"], "--provider goes with --ref"),
        (["rm", "NOPE"], "no secret 'NOPE'"),
        (["set", "X", "--workspace", "ghost"], "ghost"),
        (["set", "X", "--ref", "ssm:/a", "--provider", "nope"], "no provider named 'nope'"),
        (["set", "BIG"], "more than the 32 KiB a secret may be"),
    ],
)
def test_bad_secret_commands_are_one_line(podbay: Podbay, args: list[str], words: str) -> None:
    value = "v" * (33 * 1024) if args[-1] == "BIG" else "v"
    assert_clean_error(podbay("secret", *args, input=value), words)


def test_an_empty_value_and_a_locked_keyring_are_one_line(podbay: Podbay) -> None:
    assert_clean_error(podbay("secret", "set", "EMPTY", input=""), "the value is empty")
    locked = {"PYTHON_KEYRING_BACKEND": "tests.fake_keyring.Locked", "PYTHONPATH": str(ROOT)}
    result = podbay("secret", "set", "X", input="v", env=locked)
    assert_clean_error(result, "the keyring is locked")
    assert "unlock it" in result.stderr
