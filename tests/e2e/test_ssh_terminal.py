"""The interactive shell in a real terminal (tmux): PTY, resize, exit status."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IMAGE, PODBAY, Podbay, write_config


class Tmux:
    def __init__(self) -> None:
        self.socket = f"podbay-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "main")

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {timeout} s:\n{screen}")
            time.sleep(0.05)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (run: make images)")
    session = Tmux()
    yield session
    subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True, check=False)


def test_interactive_shell_resizes_and_returns_the_exit_status(
    podbay: Podbay, tmux: Tmux, tmp_path: Path
) -> None:
    write_config(podbay.cwd / "term", {"image": IMAGE})
    podbay.ok("up", "term")
    script = tmp_path / "run.sh"
    script.write_text(
        f"cd {shlex.quote(str(podbay.cwd))}\n"
        f"PODBAY_HOME={shlex.quote(str(podbay.home))} {PODBAY} ssh term\n"
        'echo "PODBAY-EXITED=$?"\n'
        "sleep 600\n"
    )
    tmux("new-session", "-d", "-s", "main", "-x", "90", "-y", "20", f"sh {script}")
    tmux.wait_for("/workspaces/term#")
    tmux("send-keys", "-t", "main", "stty size", "Enter")
    tmux.wait_for("20 90")
    tmux("resize-window", "-t", "main", "-x", "70", "-y", "15")
    tmux("send-keys", "-t", "main", "clear; stty size", "Enter")
    tmux.wait_for("15 70")
    tmux("send-keys", "-t", "main", "exit 3", "Enter")
    tmux.wait_for("PODBAY-EXITED=3")


def test_installed_include_makes_ssh_host_work(podbay: Podbay, tmp_path: Path) -> None:
    write_config(podbay.cwd / "inc", {"image": IMAGE})
    podbay.ok("up", "inc")
    home = tmp_path / "user-home"
    home.mkdir()
    podbay.ok("ssh-config", "install", env={"HOME": str(home)})
    user_config = home / ".ssh" / "config"
    result = subprocess.run(
        ["ssh", "-F", str(user_config), "inc.podbay", "echo", "included"],
        capture_output=True,
        text=True,
        env=podbay.env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "included\n"
    podbay.ok("ssh-config", "uninstall", env={"HOME": str(home)})
    assert user_config.read_text() == ""
