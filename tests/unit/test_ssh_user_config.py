"""`podbay ssh-config install|uninstall`: one marked block at the top of ~/.ssh/config, only."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from podbay.core.errors import PodbayError
from podbay.core.ssh import user_config

INCLUDE = Path("/state/podbay/ssh_config")
ORIGINAL = "# mine\nHost work\n  HostName 10.0.0.1\n\nInclude ~/.ssh/other\n"


def test_install_puts_the_block_first_and_uninstall_restores_the_file(tmp_path: Path) -> None:
    target = tmp_path / ".ssh" / "config"
    target.parent.mkdir()
    target.write_text(ORIGINAL)
    os.chmod(target, 0o644)
    assert user_config.install(target, INCLUDE)
    text = target.read_text()
    assert text.splitlines()[:3] == [user_config.BEGIN, f'Include "{INCLUDE}"', user_config.END]
    assert text.endswith(ORIGINAL)
    assert target.stat().st_mode & 0o777 == 0o644  # the user's mode is kept
    assert not user_config.install(target, INCLUDE)  # idempotent
    assert target.read_text() == text
    assert user_config.uninstall(target)
    assert target.read_text() == ORIGINAL
    assert not user_config.uninstall(target)


def test_install_creates_a_private_file(tmp_path: Path) -> None:
    target = tmp_path / ".ssh" / "config"
    assert user_config.install(target, INCLUDE)
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.parent.stat().st_mode & 0o777 == 0o700


def test_symlinked_or_read_only_config_is_left_alone(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles-config"
    real.write_text(ORIGINAL)
    link = tmp_path / "config"
    link.symlink_to(real)
    with pytest.raises(PodbayError) as info:
        user_config.install(link, INCLUDE)
    assert "symbolic link" in info.value.message and f'Include "{INCLUDE}"' in info.value.hint
    assert real.read_text() == ORIGINAL

    readonly = tmp_path / "ro-config"
    readonly.write_text(ORIGINAL)
    readonly.chmod(0o444)
    with pytest.raises(PodbayError) as info:
        user_config.install(readonly, INCLUDE)
    assert "read-only" in info.value.message
    assert readonly.read_text() == ORIGINAL


# The review's D3, X7 and K1: the user's file is never truncated, and a round trip gives it back
# byte for byte whatever it holds.


@pytest.mark.parametrize(
    "markers",
    [
        f'{user_config.BEGIN}\nInclude "/old/ssh_config"\n',  # end marker lost in a hand edit
        f"{user_config.END}\n{user_config.BEGIN}\n",  # the wrong way round
        f"{user_config.BEGIN}\n{user_config.END}\n{user_config.BEGIN}\n{user_config.END}\n",
    ],
)
def test_unbalanced_markers_leave_the_users_hosts_alone(tmp_path: Path, markers: str) -> None:
    target = tmp_path / "config"
    text = markers + "\nHost work\n  HostName work.example.com\n  User me\n"
    target.write_text(text)
    actions: list[Callable[[], bool]] = [
        lambda: user_config.install(target, INCLUDE),
        lambda: user_config.uninstall(target),
    ]
    for action in actions:
        with pytest.raises(PodbayError) as info:
            action()
        assert "line " in info.value.message and "leaves it alone" in info.value.message
        assert target.read_text() == text
    assert not user_config.backup_path(target).exists()


def test_every_write_keeps_the_previous_file_as_a_backup(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text(ORIGINAL)
    user_config.install(target, INCLUDE)
    backup = user_config.backup_path(target)
    assert backup.read_text() == ORIGINAL
    assert backup.stat().st_mode & 0o777 == 0o600
    installed = target.read_text()
    user_config.uninstall(target)
    assert backup.read_text() == installed


@pytest.mark.parametrize(
    "original",
    [
        b"\n\n# leading blank lines\nHost a\n",
        b"Host a\r\n  User me\r\n",  # CRLF stays CRLF
        b"   \n\t\n",  # whitespace only
        b"# caf\xe9 in Latin-1\nHost b\n",  # not UTF-8
        b"Host c",  # no final newline
        b"",
    ],
)
def test_round_trip_is_byte_identical(tmp_path: Path, original: bytes) -> None:
    target = tmp_path / "config"
    target.write_bytes(original)
    assert user_config.install(target, INCLUDE)
    assert target.read_bytes().endswith(original)
    assert user_config.uninstall(target)
    assert target.read_bytes() == original


def test_a_directory_in_place_of_the_config_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.mkdir()
    with pytest.raises(PodbayError) as info:
        user_config.install(target, INCLUDE)
    assert "not a regular file" in info.value.message


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_file_without_markers_round_trips(original: bytes) -> None:
    assume(b"podbay" not in original)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "config"
        target.write_bytes(original)
        user_config.install(target, INCLUDE)
        assert target.read_bytes().endswith(original)
        user_config.uninstall(target)
        assert target.read_bytes() == original
