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


def test_logs_forwards_quit_during_an_operation_and_resume(
    podbay: Podbay,
    tmux: Tmux,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The issue's run: the Logs tab shows a CLI-run up; a forward opened with f is stopped
    with d in Ports; q during a rebuild asks, names it, and leaves the workspace Incomplete
    (its hook stopped); the next TUI shows that, and u finishes it."""
    project = podbay.cwd / "daily"
    hook = "if [ -f .slow ]; then echo slow-hook-started; sleep 600; fi"
    write_config(
        project,
        {
            "image": IMAGE,
            "forwardPorts": [8125],
            "postCreateCommand": hook,
            "postStartCommand": "echo from-the-cli",
        },
    )
    podbay.ok("up", "daily")  # from the CLI, before the TUI starts
    script = tmp_path / "run.sh"
    tui = f"PODBAY_HOME={shlex.quote(str(podbay.home))} {PODBAY}"
    script.write_text(
        f"cd {shlex.quote(str(podbay.cwd))}\n"
        f'{tui}; echo "TUI-EXITED=$?"; read again\n'
        f'{tui}; echo "TUI2-EXITED=$?"\n'
        "sleep 600\n"
    )
    tmux("new-session", "-d", "-s", "main", "-x", "120", "-y", "36", f"sh {script}")
    tmux("set", "-s", "escape-time", "0")
    tmux.wait_for("Running")

    tmux("send-keys", "-t", "main", "l")  # the log of the CLI's up
    tmux.wait_for("from-the-cli")
    tmux("send-keys", "-t", "main", "/")  # searched: its header
    tmux("send-keys", "-t", "main", "-l", "from the CLI")
    tmux.wait_for("1 lines match 'from the CLI'")
    tmux.wait_for(" up (from the CLI) ---")
    tmux("send-keys", "-t", "main", "Escape")  # the whole log again
    tmux.wait_for("from-the-cli")

    tmux("send-keys", "-t", "main", "f")  # proposes 8125, from forwardPorts
    tmux.wait_for("Forward a port of daily")
    tmux("send-keys", "-t", "main", "Enter")
    tmux.wait_for("forwarding http://127.0.0.1:")
    tmux("send-keys", "-t", "main", "3", "]", "Tab")  # Ports, and into its table
    tmux.wait_for("forwarded")
    tmux("send-keys", "-t", "main", "d")
    tmux.wait_for("stopped forwarding")
    tmux.wait_for("in forwardPorts; f forwards it")

    (project / ".slow").touch()
    tmux("send-keys", "-t", "main", "2", "r")
    tmux.wait_for("Rebuild workspace daily?")
    tmux("send-keys", "-t", "main", "y")
    tmux("send-keys", "-t", "main", "l")
    tmux.wait_for("slow-hook-started", timeout=120)
    tmux("send-keys", "-t", "main", "q")
    tmux.wait_for("Quit while 1 operation(s) run?")
    tmux.wait_for("daily: rebuilding")
    tmux("send-keys", "-t", "main", "y")
    tmux.wait_for("TUI-EXITED=0", timeout=60)

    [row] = podbay.json("list")
    assert row["status"] == "Incomplete"
    processes = podbay.ok("exec", "daily", "--", "ps", "-eo", "args").stdout
    assert "sleep 600" not in processes  # the hook stopped with the TUI

    (project / ".slow").unlink()
    tmux("send-keys", "-t", "main", "Enter")  # the second TUI
    tmux.wait_for("Incomplete")
    tmux("send-keys", "-t", "main", "u")
    tmux.wait_for("daily is running", timeout=120)
    tmux("send-keys", "-t", "main", "q")
    tmux.wait_for("TUI2-EXITED=0")
    assert podbay.status("daily")["status"] == "Running"
