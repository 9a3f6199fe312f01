"""`podbay dotfiles`: the default for new workspaces and a workspace's own setting."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import Podbay
from tests.unit.test_cli_errors import assert_clean_error


def test_the_default_is_shown_set_and_cleared(podbay: Podbay, tmp_path: Path) -> None:
    shown = podbay.ok("dotfiles").stdout
    assert shown.startswith("new workspaces: no dotfiles\nset them with: podbay dotfiles --set")
    url = "https://git.example.org/me/dotfiles.git"
    set_ = podbay.ok("dotfiles", "--set", url, "--install", "make install", "--timeout", "60")
    assert set_.stdout == f"new workspaces: {url} (install: make install)\n"
    assert podbay.json("dotfiles") == {
        "name": None, "url": url, "install": "make install", "timeout": 60, "from": "default",
        "outcome": "success",
    }  # fmt: skip
    # A folder of this computer is taken by its full path.
    subprocess.run(["git", "init", "-q", str(tmp_path / "dots")], check=True)
    podbay.ok("dotfiles", "--set", str(tmp_path / "dots"))
    assert podbay.json("dotfiles")["url"] == str(tmp_path / "dots")
    podbay.ok("dotfiles", "--set", "none")
    assert podbay.json("dotfiles")["url"] is None


def test_bad_dotfiles_settings_are_one_line(podbay: Podbay) -> None:
    assert_clean_error(podbay("dotfiles", "--set", "ext::sh -c id"), "dotfiles:", "not a git URL")
    assert_clean_error(podbay("dotfiles", "--set", "./nowhere"), "dotfiles folder ./nowhere")
    with_password = podbay("dotfiles", "--set", "https://me:tok3n@git.example.org/d.git")
    assert_clean_error(with_password, "holds a password")
    assert "tok3n" not in with_password.stderr
    assert_clean_error(podbay("dotfiles", "--install", "x"), "--install and --timeout go with")
    assert_clean_error(
        podbay("dotfiles", "--set", "https://h/d.git", "--timeout", "0"), "timeout 0"
    )
    assert_clean_error(podbay("dotfiles", "--set", "default"), "`default` is for a workspace")
    assert_clean_error(podbay("dotfiles", "ghost", "--set", "none"), "ghost")
