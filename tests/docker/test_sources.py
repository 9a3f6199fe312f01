"""Every kind of SOURCE, against the real engine and real git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docker
import pytest

from tests.conftest import IMAGE, Podbay, write_config

GIT = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]


def make_repo(path: Path) -> dict[str, str]:
    """A repo with a config on `main`, one more commit on branch `feature`; returns shas."""
    write_config(path, {"image": IMAGE, "postCreateCommand": "git log --format=%s > /tmp/log"})
    (path / "README").write_text("main\n")
    subprocess.run([*GIT, "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-qm", "first"], check=True)
    first = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run([*GIT, "-C", str(path), "checkout", "-qb", "feature"], check=True)
    (path / "README").write_text("feature\n")
    subprocess.run([*GIT, "-C", str(path), "commit", "-qam", "second"], check=True)
    subprocess.run([*GIT, "-C", str(path), "checkout", "-q", "main"], check=True)
    return {"first": first}


def test_git_branch_and_commit(podbay: Podbay, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = make_repo(repo)

    podbay.ok("up", f"file://{repo}@feature")
    assert podbay.ok("exec", "repo", "--", "cat", "README").stdout == "feature\n"
    [row] = podbay.json("list")
    assert row["source"] == f"file://{repo}@feature" and row["sourceKind"] == "git"
    clone = Path(row["folder"])
    assert clone.is_relative_to(podbay.home)

    podbay.ok("up", f"file://{repo}@{shas['first'][:10]}", "--name", "pinned")
    assert podbay.ok("exec", "pinned", "--", "cat", "README").stdout == "main\n"
    assert podbay.ok("exec", "pinned", "--", "cat", "/tmp/log").stdout == "first\n"

    # Delete removes podbay's clone, never the original repository.
    podbay.ok("delete", "repo", "--yes")
    assert not clone.exists()
    assert (repo / "README").read_text() == "main\n"


def test_git_clone_failure(podbay: Podbay, tmp_path: Path) -> None:
    result = podbay("up", f"file://{tmp_path}/missing.git")
    assert result.returncode == 1
    assert "podbay: error: git clone of" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    # git's own first reason, not the tail of its advice (the review's U3).
    assert "does not appear to be a git repository" in result.stderr
    make_repo(tmp_path / "repo")
    result = podbay("up", f"file://{tmp_path}/repo@no-such-branch")
    assert result.returncode == 1 and "git clone of" in result.stderr
    # The failed clones stay in Error; a corrected retry takes the same name, as nothing of
    # the failed one was made.
    listed = {row["name"]: row for row in podbay.json("list")}
    assert {name: row["status"] for name, row in listed.items()} == {
        "missing": "Error",
        "repo": "Error",
    }
    assert "git clone of" in listed["repo"]["detail"]
    done = podbay.ok("up", f"file://{tmp_path}/repo@feature")
    assert "replacing workspace repo" in done.stderr
    assert "Receiving objects" in done.stderr or "done." in done.stderr  # git's progress


def test_credentials_in_a_git_url_are_not_shown(podbay: Podbay, tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    url = f"file://alice:s3cretPW@{tmp_path}/repo"  # file:// ignores the user part
    result = podbay("up", url)
    shown = result.stderr + result.stdout + podbay("list").stdout
    shown += json.dumps(podbay.json("list"))
    for log in (podbay.home / "logs").glob("*.log"):
        shown += log.read_text()
    assert "s3cretPW" not in shown


def test_image_source_gets_an_empty_workspace_folder(podbay: Podbay) -> None:
    podbay.ok("up", IMAGE, "--name", "plain")
    shown = podbay.ok("exec", "plain", "--", "sh", "-c", "pwd; ls -A | wc -l").stdout
    assert shown.split() == ["/workspaces/plain", "0"]
    podbay.ok("exec", "plain", "--", "sh", "-c", "echo kept > note")
    podbay.ok("stop", "plain")
    podbay.ok("start", "plain")
    assert podbay.ok("exec", "plain", "--", "cat", "note").stdout == "kept\n"


def test_folder_with_image_flag_needs_no_config(podbay: Podbay) -> None:
    (podbay.cwd / "bare").mkdir()
    (podbay.cwd / "bare" / "data.txt").write_text("x")
    podbay.ok("up", "bare", "--image", IMAGE)
    assert podbay.ok("exec", "bare", "--", "cat", "data.txt").stdout == "x"


def test_config_in_a_subfolder_chosen_with_config(podbay: Podbay) -> None:
    proj = podbay.cwd / "multi"
    write_config(proj, {"image": IMAGE, "containerEnv": {"WHICH": "main"}})
    write_config(proj, {"image": IMAGE, "containerEnv": {"WHICH": "alt"}}, ".devcontainer/alt")
    podbay.ok("up", "multi", "--config", ".devcontainer/alt/devcontainer.json")
    assert podbay.ok("exec", "multi", "--", "printenv", "WHICH").stdout == "alt\n"


def test_root_dot_devcontainer_json(podbay: Podbay) -> None:
    proj = podbay.cwd / "rooted"
    write_config(proj, {"image": IMAGE, "containerEnv": {"AT": "root"}}, where="")
    podbay.ok("up", "rooted")
    assert podbay.ok("exec", "rooted", "--", "printenv", "AT").stdout == "root\n"


@pytest.fixture
def debian_image() -> None:
    """The debian template names debian:bookworm; offline, our test image stands in for it."""
    client = docker.from_env()
    if not client.images.list(name="debian:bookworm"):
        client.images.get(IMAGE).tag("debian", "bookworm")


def test_template_workspace(podbay: Podbay, debian_image: None) -> None:
    up = podbay.ok("up", "debian", "--name", "tpl")
    assert (
        "Hello from your podbay workspace"
        in podbay.ok("exec", "tpl", "--", "sh", "hello.sh").stdout
    )
    [row] = podbay.json("list")
    assert row["source"] == "template:debian"
    assert Path(row["folder"]).is_relative_to(podbay.home)
    assert "==> running postCreateCommand" in up.stderr


def test_existing_workspace_name_as_source(podbay: Podbay) -> None:
    write_config(podbay.cwd / "named", {"image": IMAGE})
    podbay.ok("up", "named")
    podbay.ok("stop", "named")
    elsewhere = podbay.cwd / "sub"
    elsewhere.mkdir()
    podbay.ok("up", "named", cwd=elsewhere)
    assert podbay.status("named")["status"] == "Running"


def test_workspace_mount_and_runargs_reach_docker(podbay: Podbay) -> None:
    proj = podbay.cwd / "args"
    write_config(
        proj,
        {
            "image": IMAGE,
            "runArgs": ["--hostname", "devbox", "--label", "extra=yes"],
            "mounts": [{"type": "volume", "target": "/cache"}],
            "workspaceMount": "type=bind,source=${localWorkspaceFolder},target=/src",
            "workspaceFolder": "/src",
        },
    )
    result = json.loads(podbay.ok("up", "args", "--json").stdout)
    assert result["remoteWorkspaceFolder"] == "/src"
    out = podbay.ok("exec", "args", "--", "sh", "-c", "hostname; pwd; ls -d /cache").stdout
    assert out.split() == ["devbox", "/src", "/cache"]
    labels = docker.from_env().containers.get(result["containerId"]).labels
    assert labels["extra"] == "yes"
