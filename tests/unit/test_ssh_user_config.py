"""`podbay ssh-config install|uninstall`: one marked block at the top of ~/.ssh/config, only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import PodbayError
from core.ssh import user_config

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
