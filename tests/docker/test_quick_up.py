"""`podbay up NAME` of a running workspace whose config is unchanged answers at once, without
the full path's imports; any change (the config, a variable it reads, the container) goes the
full way and is handled there."""

from __future__ import annotations

import json
import subprocess
import sys

import docker

from podbay.core import oplog
from tests.conftest import IMAGE, Podbay, write_config

# `podbay up ARGS` in this interpreter, printing which heavy modules it had to import.
PROBE = """
import json, sys
from podbay.tui.cli import main
code = main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "docker", "asyncio"})
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _up(
    podbay: Podbay, *args: str, env: dict[str, str] | None = None
) -> tuple[str, str, list[str]]:
    """Run `up` from outside the source folders (a folder of that name would be the source)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "up", *args],
        cwd=podbay.home.parent,
        env={**podbay.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    *lines, probe = done.stderr.strip().splitlines()
    found = json.loads(probe)
    assert found["code"] == 0, done.stderr
    return done.stdout, "\n".join(lines), found["heavy"]


def test_a_running_unchanged_workspace_is_answered_without_the_full_path(podbay: Podbay) -> None:
    write_config(
        podbay.cwd / "app",
        {"image": IMAGE, "containerEnv": {"WHO": "${localEnv:PODBAY_TEST_WHO}"},
         "postStartCommand": "echo started >> /tmp/starts"},
    )  # fmt: skip
    who = {"PODBAY_TEST_WHO": "alice"}
    first_out, first_err, heavy = _up(podbay, str(podbay.cwd / "app"), env=who)
    # The first `up` makes the container: the full path, with the engine's socket spoken
    # directly (core.docker_api), not through the docker SDK.
    assert "pydantic" in heavy and "docker" not in heavy
    listed = subprocess.run(
        [sys.executable, "-c", PROBE, "list"],
        env=podbay.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Running" in listed.stdout
    assert "docker" not in json.loads(listed.stderr.strip().splitlines()[-1])["heavy"]
    out, err, heavy = _up(podbay, "app", env=who)
    assert heavy == []  # no pydantic, no docker SDK, no asyncio
    assert out == first_out == "app is running. Try: podbay exec app -- bash\n"
    assert err == "==> workspace app is ready (/workspaces/app)"
    assert err.splitlines()[-1] in first_err
    log = (podbay.home / "logs" / "app.log").read_text().splitlines()
    assert log[-1] == "==> workspace app is ready (/workspaces/app)"
    assert oplog.is_header(log[-2]) and log[-2].endswith(" up (from the CLI) ---")
    as_json = json.loads(_up(podbay, "app", "--json", env=who)[0])
    assert as_json["outcome"] == "success" and as_json["remoteWorkspaceFolder"] == "/workspaces/app"

    # A variable the config reads changed: the full path says the config changed.
    _, err, heavy = _up(podbay, "app", env={"PODBAY_TEST_WHO": "bob"})
    assert "pydantic" in heavy and "the config changed since this container was made" in err


def test_a_changed_config_or_a_restarted_container_takes_the_full_path(podbay: Podbay) -> None:
    config = {"image": IMAGE, "postStartCommand": "echo started >> /tmp/starts"}
    write_config(podbay.cwd / "app", config)
    _up(podbay, str(podbay.cwd / "app"))
    assert _up(podbay, "app")[2] == []
    # Restarted behind podbay's back: its postStartCommand runs again, by the full path.
    container = podbay.status("app")["containerId"]
    docker.from_env().containers.get(container).restart(timeout=1)
    _, _, heavy = _up(podbay, "app")
    assert "pydantic" in heavy
    starts = podbay.ok("exec", "app", "--", "cat", "/tmp/starts").stdout
    assert starts.count("started") == 2  # at creation, and again after the restart
    assert _up(podbay, "app")[2] == []  # and quick again after it, running nothing
    assert podbay.ok("exec", "app", "--", "cat", "/tmp/starts").stdout == starts
    # The config file edited: the full path, which tells about the change.
    write_config(podbay.cwd / "app", {**config, "containerEnv": {"NEW": "1"}})
    _, err, heavy = _up(podbay, "app")
    assert "pydantic" in heavy and "the config changed" in err


def test_a_folder_named_like_the_workspace_is_the_source_and_goes_the_full_way(
    podbay: Podbay,
) -> None:
    write_config(podbay.cwd / "app", {"image": IMAGE})
    _up(podbay, str(podbay.cwd / "app"))
    assert _up(podbay, "app")[2] == []  # by name: the quick answer
    done = subprocess.run(  # from the folder's parent, "app" is the folder: the full path
        [sys.executable, "-c", PROBE, "up", "app"],
        cwd=podbay.cwd, env=podbay.env, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    assert done.stdout == "app is running. Try: podbay exec app -- bash\n"
    assert "pydantic" in json.loads(done.stderr.strip().splitlines()[-1])["heavy"]


def test_what_every_up_runs_keeps_the_full_path(podbay: Podbay) -> None:
    """postAttachCommand (and initializeCommand) run on every `up`: never answered quickly."""
    write_config(
        podbay.cwd / "app", {"image": IMAGE, "postAttachCommand": "echo attached >> /tmp/att"}
    )
    _up(podbay, str(podbay.cwd / "app"))
    _, _, heavy = _up(podbay, "app")
    assert "pydantic" in heavy
    assert podbay.ok("exec", "app", "--", "cat", "/tmp/att").stdout == "attached\nattached\n"


def test_a_config_edited_while_up_runs_is_not_taken_as_applied(podbay: Podbay) -> None:
    """The edit lands during `up` (here by its own postCreateCommand, through the workspace
    mount): the next `up NAME` sees the change instead of answering "ready"."""
    write_config(
        podbay.cwd / "app",
        {"image": IMAGE, "containerEnv": {"WHEN": "before"},
         "postCreateCommand": "sed -i s/before/after/ .devcontainer/devcontainer.json"},
    )  # fmt: skip
    _up(podbay, str(podbay.cwd / "app"))
    assert "after" in (podbay.cwd / "app" / ".devcontainer" / "devcontainer.json").read_text()
    _, err, heavy = _up(podbay, "app")
    assert "pydantic" in heavy and "the config changed since this container was made" in err
