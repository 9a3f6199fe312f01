"""What users see when things go wrong: one line, a hint, non-zero, and a repairable state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
    # B17: the failed create stays, in Error with its reason and its log, until deleted; the
    # delete leaves the user's folder as it was.
    [row] = podbay.json("list")
    assert row["status"] == "Error" and "could not be pulled" in row["detail"]
    assert row["hint"] == "podbay up proj"
    assert "could not be pulled" in podbay.ok("logs", "proj").stdout
    podbay.ok("delete", "proj", "--yes")
    assert podbay.json("list") == []
    assert (podbay.cwd / "proj" / ".devcontainer" / "devcontainer.json").exists()


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
    [row] = podbay.json("list")
    assert row["status"] == "Error" and "cannot reach Docker" in row["detail"]

    podbay.ok("up", "proj")  # the same workspace, once Docker answers
    listed = json.loads(podbay("list", "--json", env=gone).stdout)
    assert listed[0]["status"] == "Error" and "cannot reach Docker" in listed[0]["detail"]


def test_exec_of_an_unfinished_workspace_is_refused(podbay: Podbay) -> None:
    write_config(podbay.cwd / "slow", {"image": IMAGE})
    result = podbay("up", "slow", env={"PODBAY_TEST_KILL_AT": "recorded"})
    assert result.returncode == -9
    assert_clean_error(podbay("exec", "slow", "--", "true"), "has no finished container")


def test_a_workspace_on_a_provider_that_is_gone_can_be_forgotten(podbay: Podbay) -> None:
    # The review's W5: a decommissioned engine made `delete` fail forever.
    write_config(podbay.cwd / "far", {"image": IMAGE, "userEnvProbe": "none"})
    podbay.ok("up", "far")
    container = podbay.status("far")["containerId"]
    podbay.ok("provider", "set", "docker", f"host=unix://{podbay.cwd}/none.sock")
    assert_clean_error(podbay("delete", "far", "--yes"), "cannot reach Docker")
    done = podbay.ok("delete", "far", "--yes", "--force")
    assert "may be left on provider docker" in done.stderr
    assert podbay.json("list") == []
    assert (podbay.cwd / "far").is_dir()  # the user's folder, as always
    subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


def test_delete_keeps_the_lock_file_that_others_wait_on(podbay: Podbay) -> None:
    # The review's W1: unlinking it let a newcomer take a second lock beside a waiting one.
    write_config(podbay.cwd / "cc", {"image": IMAGE, "userEnvProbe": "none"})
    podbay.ok("up", "cc")
    lock = podbay.home / "locks" / "cc.lock"
    inode = lock.stat().st_ino
    podbay.ok("delete", "cc", "--yes")
    podbay.ok("up", "cc")
    assert lock.stat().st_ino == inode


def test_a_config_outside_the_folder_and_a_large_one_work(podbay: Podbay, tmp_path: Path) -> None:
    # X3: an absolute --config outside the folder; X4: a config over 128 KiB (one label).
    outside = tmp_path / "outcfg"
    settings = {f"setting.{i}": "x" * 80 for i in range(2000)}
    config = {
        "image": IMAGE,
        "userEnvProbe": "none",
        "customizations": {"vscode": {"settings": settings}},
    }
    path = write_config(outside, config)
    assert path.stat().st_size > 128 * 1024
    (podbay.cwd / "projx").mkdir()
    done = podbay.ok("up", "projx", "--config", str(path))
    assert "customizations are too large" in done.stderr
    assert podbay.status("projx")["configFile"] == str(path)


def test_impossible_values_are_one_line_errors(podbay: Podbay) -> None:
    write_config(podbay.cwd / "nul", {"image": IMAGE, "containerEnv": {"A": "x\u0000y"}})
    assert_clean_error(podbay("up", "nul"), "containerEnv.A contains a NUL character")
    write_config(
        podbay.cwd / "ghost",
        {
            "image": IMAGE,
            "remoteUser": "ghost",
            "userEnvProbe": "none",
            "postCreateCommand": "true",
        },
    )
    result = podbay("up", "ghost")
    assert_clean_error(result, "user ghost does not exist in the container")
    assert podbay("up", "./x", "--name", "").returncode == 1


def test_busybox_without_passwd_runs_commands_as_root(podbay: Podbay) -> None:
    # W4: `-u root` needs /etc/passwd; root by uid does not.
    podbay.ok("up", "podbay-test/busybox:latest", "--name", "bb")
    assert podbay.ok("exec", "bb", "--", "id", "-u").stdout == "0\n"
