"""The real `podbay` TUI in a real terminal (tmux), on the real local Docker engine."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.conftest import IMAGE, PODBAY, Podbay, write_config
from tests.e2e.test_ssh_terminal import Tmux, tmux  # noqa: F401  (fixture)


def test_create_shell_delete_quit(podbay: Podbay, tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    project = podbay.cwd / "e2e"
    write_config(project, {"image": IMAGE})
    podbay.ok("provider", "list")  # first run: the default docker provider
    script = tmp_path / "run.sh"
    script.write_text(
        f"cd {shlex.quote(str(podbay.cwd))}\n"
        f"PODBAY_HOME={shlex.quote(str(podbay.home))} {PODBAY}\n"
        'echo "TUI-EXITED=$?"\n'
        "sleep 600\n"
    )
    tmux("new-session", "-d", "-s", "main", "-x", "110", "-y", "32", f"sh {script}")
    tmux("set", "-s", "escape-time", "0")
    tmux.wait_for("No workspaces yet")

    tmux("send-keys", "-t", "main", "n")
    tmux.wait_for("New workspace")
    tmux("send-keys", "-t", "main", "-l", str(project))
    tmux("send-keys", "-t", "main", "Enter")
    tmux.wait_for("e2e is running", timeout=120)
    tmux.wait_for("Running")

    tmux("send-keys", "-t", "main", "Enter")  # shell
    tmux.wait_for("/workspaces/e2e#", timeout=60)
    tmux("send-keys", "-t", "main", "exit 3", "Enter")
    tmux.wait_for("shell in e2e exited 3")

    tmux("send-keys", "-t", "main", "d")
    tmux.wait_for("Delete workspace e2e (docker)?")
    tmux("send-keys", "-t", "main", "y")
    tmux.wait_for("e2e is deleted", timeout=60)

    tmux("send-keys", "-t", "main", "q")
    tmux.wait_for("TUI-EXITED=0")
    assert podbay.json("list") == []
    assert (project / ".devcontainer" / "devcontainer.json").exists()
