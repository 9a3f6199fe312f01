"""Bad input: one line saying what is wrong, a hint, a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Podbay, write_config


def assert_clean_error(result: object, *words: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 1, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    error = [line for line in lines if line.startswith("podbay: error: ")]
    assert len(error) == 1, stderr
    assert any(line.startswith("hint: ") for line in lines), stderr
    for word in words:
        assert word in error[0], stderr


def test_missing_folder(podbay: Podbay) -> None:
    assert_clean_error(podbay("up", "./nowhere"), "folder ./nowhere does not exist")


def test_no_config(podbay: Podbay) -> None:
    (podbay.cwd / "plain").mkdir()
    assert_clean_error(podbay("up", "plain"), "no devcontainer.json in")


def test_several_configs(podbay: Podbay) -> None:
    proj = podbay.cwd / "proj"
    write_config(proj, {"image": "x"}, ".devcontainer/one")
    write_config(proj, {"image": "y"}, ".devcontainer/other")
    result = podbay("up", "proj")
    assert_clean_error(result, "has a config in each of several folders of .devcontainer")
    assert "--config .devcontainer/one/devcontainer.json" in result.stderr


def test_malformed_jsonc_names_file_line_and_column(podbay: Podbay) -> None:
    proj = podbay.cwd / "proj"
    path = write_config(proj, '{\n  "image": "x"\n  "remoteUser": "me"\n}')
    assert_clean_error(podbay("up", "proj"), f"{path}:3:3:", "expected ',' or '}'")


def test_wrong_property_type(podbay: Podbay) -> None:
    proj = podbay.cwd / "proj"
    path = write_config(proj, '{"image": "x", "runArgs": "--init"}')
    assert_clean_error(podbay("up", "proj"), f"{path}:1:27:", "runArgs expected an array")


def test_unknown_workspace(podbay: Podbay) -> None:
    for verb in ("status", "stop", "start", "logs", "exec"):
        args = [verb, "ghost"] + (["--", "true"] if verb == "exec" else [])
        assert_clean_error(podbay(*args), "no workspace named 'ghost'")


def test_json_errors_are_json(podbay: Podbay) -> None:
    import json

    result = podbay("status", "ghost", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["outcome"] == "error" and data["kind"] == "unknown-workspace"


def test_nothing_is_recorded_for_bad_input(podbay: Podbay) -> None:
    (podbay.cwd / "plain").mkdir()
    podbay("up", "plain")
    assert podbay.json("list") == []


def test_unknown_provider(podbay: Podbay) -> None:
    write_config(podbay.cwd / "proj", {"image": "x"})
    assert_clean_error(podbay("up", "proj", "--provider", "nope"), "no provider named 'nope'")
    assert_clean_error(podbay("provider", "add", "kubernetes"), "unknown provider type")
    assert_clean_error(
        podbay("provider", "add", "docker", "--name", "d2", "-o", "colour=red", "--no-check"),
        "option colour",
    )


@pytest.mark.parametrize("args", [["delete", "ghost"], ["delete", "ghost", "--yes"]])
def test_delete_unknown(podbay: Podbay, args: list[str]) -> None:
    assert_clean_error(podbay(*args), "no workspace named 'ghost'")


def test_templates_are_listed(podbay: Podbay) -> None:
    names = [t["name"] for t in podbay.json("templates")]
    assert {"python", "node", "go", "rust", "debian"} <= set(names)


def test_providers_default_and_management(podbay: Podbay, tmp_path: Path) -> None:
    listed = podbay.json("provider", "list")
    assert [(p["name"], p["type"], p["default"]) for p in listed] == [("docker", "docker", True)]
    podbay.ok(
        "provider", "add", "docker", "--name", "other", "-o", "host=tcp://127.0.0.1:1", "--no-check"
    )
    podbay.ok("provider", "use", "other")
    podbay.ok("provider", "set", "other", "host=unix:///x.sock")
    listed = {p["name"]: p for p in podbay.json("provider", "list")}
    assert listed["other"]["default"] and listed["other"]["options"] == {"host": "unix:///x.sock"}
    podbay.ok("provider", "remove", "other")
    assert [p["name"] for p in podbay.json("provider", "list")] == ["docker"]


def test_git_transports_that_run_programs_or_wait_are_refused(podbay: Podbay) -> None:
    # fd:: made git wait forever on one of its own pipes (the review's H4); ext:: runs programs.
    for url in ("fd::3/x.git", "ext::sh -c touch% /tmp/x", "foo::bar/x.git"):
        result = podbay("up", url, timeout=20)
        assert_clean_error(result, "is not a git URL podbay clones")
    assert podbay.json("list") == []


def test_a_bug_is_logged_privately_under_podbay_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The review's S5: the crash log went to a fixed name in the shared temp folder, 0644,
    # following symlinks, with tokens from the command line in it.
    import os
    import stat
    import sys

    from podbay.tui import cli
    from podbay.tui.cli import verbs

    def broken(ns: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setenv("PODBAY_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(verbs, "cmd_templates", broken)
    monkeypatch.setattr(sys, "argv", ["podbay", "templates", "https://bob:hunter2@host/x.git"])
    assert cli.main(["templates"]) == 1
    err = capsys.readouterr().err
    log = tmp_path / "home" / "logs" / "_crash.log"
    assert "internal error: RuntimeError: a bug" in err and str(log) in err
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    text = log.read_text()
    assert "RuntimeError: a bug" in text and "hunter2" not in text and "bob:***@host" in text


def test_a_reader_that_went_away_is_not_an_error(podbay: Podbay) -> None:
    """`podbay list | head -0`: the pipe is closed before podbay writes."""
    import os
    import subprocess

    from tests.conftest import PODBAY

    # Unbuffered, the first print meets the closed pipe; buffered, the flush at exit does.
    for buffered in (False, True):
        env = {**podbay.env, "PYTHONUNBUFFERED": "" if buffered else "1"}
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [PODBAY, "templates"], stdout=write, stderr=subprocess.PIPE, env=env, timeout=60
            )
        finally:
            os.close(write)
        assert done.returncode == 141, (buffered, done.stderr)
        for word in (b"error", b"Traceback", b"Exception ignored", b"BrokenPipe"):
            assert word not in done.stderr, (buffered, done.stderr)
