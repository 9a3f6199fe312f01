"""What users see when things go wrong: one line, a hint, non-zero, and a repairable state."""

from __future__ import annotations

import json

from tests.conftest import IMAGE, Podbay, write_config
from tests.unit.test_cli_errors import assert_clean_error


def test_name_taken(podbay: Podbay) -> None:
    write_config(podbay.cwd / "a", {"image": IMAGE})
    write_config(podbay.cwd / "b", {"image": IMAGE})
    podbay.ok("up", "a", "--name", "shared")
    result = podbay("up", "b", "--name", "shared")
    assert_clean_error(result, "workspace 'shared' already exists")
    assert "--name" in result.stderr
    [row] = podbay.json("list")
    assert row["source"] == str(podbay.cwd / "a")


def test_image_missing_and_not_pullable(podbay: Podbay) -> None:
    # Nothing listens on this loopback port: the pull fails at once, as with any unreachable
    # registry.
    write_config(podbay.cwd / "proj", {"image": "127.0.0.1:9/podbay/none:1"})
    result = podbay("up", "proj")
    assert_clean_error(
        result, "image 127.0.0.1:9/podbay/none:1 is not here and could not be pulled"
    )
    # Nothing was created, so nothing is left to repair.
    assert podbay.json("list") == []


def test_failing_hook_keeps_the_workspace_and_up_reruns_it(podbay: Podbay) -> None:
    proj = podbay.cwd / "hooky"
    config = {
        "image": IMAGE,
        "onCreateCommand": "echo once >> /tmp/oncreate",
        "postCreateCommand": {"ok": "true", "bad": "test -f /tmp/allowed || exit 3"},
    }
    write_config(proj, config)
    result = podbay("up", "hooky")
    assert_clean_error(result, "postCreateCommand (bad) failed with exit code 3")
    assert "podbay up hooky" in result.stderr

    [row] = podbay.json("list")
    assert row["status"] == "Error"
    assert "postCreateCommand (bad) failed" in row["detail"]

    podbay.ok("exec", "hooky", "--", "touch", "/tmp/allowed")
    podbay.ok("up", "hooky")
    assert podbay.status("hooky")["status"] == "Running"
    # onCreateCommand had succeeded: it does not run again.
    assert podbay.ok("exec", "hooky", "--", "cat", "/tmp/oncreate").stdout == "once\n"


def test_docker_unreachable_says_how_to_start_it(podbay: Podbay) -> None:
    write_config(podbay.cwd / "proj", {"image": IMAGE})
    gone = {"DOCKER_HOST": f"unix://{podbay.cwd}/no-docker.sock"}
    result = podbay("up", "proj", env=gone)
    assert_clean_error(result, "cannot reach Docker at unix://")
    assert "dockerd" in result.stderr
    assert podbay.json("list") == []

    podbay.ok("up", "proj")
    listed = json.loads(podbay("list", "--json", env=gone).stdout)
    assert listed[0]["status"] == "Error" and "cannot reach Docker" in listed[0]["detail"]


def test_exec_of_an_unfinished_workspace_is_refused(podbay: Podbay) -> None:
    write_config(podbay.cwd / "slow", {"image": IMAGE})
    result = podbay("up", "slow", env={"PODBAY_TEST_KILL_AT": "recorded"})
    assert result.returncode == -9
    assert_clean_error(podbay("exec", "slow", "--", "true"), "has no finished container")
