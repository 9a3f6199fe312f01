"""No work is lost, and nothing a config or an image says reaches the host (the reliability
probe's S1, S3, D1, D2, W2, W3, W6), against the real engine, git and Docker."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.docker.test_sources import GIT, make_repo
from tests.unit.test_cli_errors import assert_clean_error


def containers_of(name: str) -> list[str]:
    found = docker.from_env().containers.list(
        all=True, filters={"label": f"dev.podbay.workspace={name}"}
    )
    return [c.status for c in found]


def test_a_failed_up_keeps_a_sources_folder_it_did_not_make(podbay: Podbay, tmp_path: Path) -> None:
    make_repo(tmp_path / "repo2")
    url = f"file://{tmp_path}/repo2"
    podbay.ok("up", url)
    clone = podbay.home / "sources" / "repo2"
    (clone / "MY-WORK.txt").write_text("precious uncommitted work\n")
    podbay.ok("exec", "repo2", "--", "sh", "-c", "echo from-container > inside.txt")
    # The record is lost (podbay refuses to carry on over a missing or damaged state file,
    # so here only the row goes); the folder and the container stay.
    with contextlib.closing(sqlite3.connect(podbay.home / "podbay.db")) as db:
        db.execute("DELETE FROM workspaces WHERE name='repo2'")
        db.commit()

    result = podbay("up", url, env={"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"})
    assert_clean_error(result, "cannot reach Docker")
    assert "already there (kept as it is)" in result.stderr
    assert (clone / "MY-WORK.txt").read_text() == "precious uncommitted work\n"
    assert (clone / "inside.txt").read_text() == "from-container\n"


@pytest.fixture
def clone_with_work(podbay: Podbay, tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo1")
    podbay.ok("up", f"file://{tmp_path}/repo1")
    clone = podbay.home / "sources" / "repo1"
    (clone / "notes.txt").write_text("notes\n")
    subprocess.run(
        [*GIT, "-C", str(clone), "commit", "-q", "--allow-empty", "-m", "wip"], check=True
    )
    return clone


def test_delete_refuses_to_drop_unpushed_and_untracked_work(
    podbay: Podbay, clone_with_work: Path
) -> None:
    result = podbay("delete", "repo1", "--yes")
    assert_clean_error(result, "deleting repo1 would lose work in")
    assert "1 untracked file (notes.txt)" in result.stderr
    assert "1 commit on no remote" in result.stderr and "wip" in result.stderr
    assert "--force" in result.stderr
    assert (clone_with_work / "notes.txt").exists()
    assert podbay.status("repo1")["status"] == "Running"

    as_json = json.loads(podbay("delete", "repo1", "--yes", "--json").stdout)
    assert as_json["kind"] == "work-at-risk"

    podbay.ok("delete", "repo1", "--yes", "--force")
    assert not clone_with_work.exists()
    assert containers_of("repo1") == []


def test_delete_of_a_clean_clone_needs_no_force(podbay: Podbay, tmp_path: Path) -> None:
    make_repo(tmp_path / "clean")
    podbay.ok("up", f"file://{tmp_path}/clean")
    podbay.ok("delete", "clean", "--yes")
    assert not (podbay.home / "sources" / "clean").exists()


def test_git_settings_written_from_the_container_never_run_on_the_host(
    podbay: Podbay, tmp_path: Path
) -> None:
    # The clone is shared with the container: whatever runs there can edit .git/config.
    make_repo(tmp_path / "repo3")
    podbay.ok("up", f"file://{tmp_path}/repo3")
    marker = tmp_path / "ran-on-host"
    # Everything git would run a program for: fsmonitor, a clean filter (also one defined in
    # an included file), gpg for a signed commit shown by `log`.
    script = f"""
        git config core.fsmonitor 'touch {marker}.fsmonitor; false'
        git config filter.evil.clean 'touch {marker}.filter; cat'
        printf '[filter "hidden"]\\n\\tclean = touch {marker}.include; cat\\n' > .git/extra
        git config include.path extra
        printf '* filter=evil\\nREADME filter=hidden\\n' > .gitattributes
        # Same size, other time: git must read the content, through the clean filter.
        printf 'MAIN\\n' > README; touch -d 2002-01-01 README
        git config log.showSignature true
        git config gpg.program 'sh -c "touch {marker}.gpg"'
        tree=$(git write-tree)
        head='tree %s\\nparent %s\\nauthor a <a@b> 1 +0000\\ncommitter a <a@b> 1 +0000\\n'
        sig='gpgsig -----BEGIN PGP SIGNATURE-----\\n x\\n -----END PGP SIGNATURE-----\\n'
        commit=$(printf "$head$sig\\nsigned\\n" "$tree" "$(git rev-parse HEAD)" |
                 git hash-object -w -t commit --stdin)
        git update-ref refs/heads/main "$commit"
    """
    podbay.ok("exec", "repo3", "--", "sh", "-ec", script)
    result = podbay("delete", "repo3", "--yes")
    assert_clean_error(result, "would lose", "commit on no remote", "signed")
    assert sorted(p.name for p in tmp_path.glob("ran-on-host*")) == []


def test_a_crafted_image_cannot_write_ssh_config(podbay: Podbay, tmp_path: Path) -> None:
    meta = [
        {
            "remoteUser": "root\nHost *\n  ProxyCommand sh -c 'touch $HOME/PWNED; exec nc %h %p'",
            "userEnvProbe": "none",
        }
    ]
    context = tmp_path / "evil"
    context.mkdir()
    label = json.dumps(json.dumps(meta))
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nLABEL devcontainer.metadata={label}\n")
    tag = "podbay-test/evil-metadata:1"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(context)], check=True, capture_output=True
    )
    try:
        result = podbay("up", tag, "--name", "evil")
        assert_clean_error(result, "is not a user name")
        assert "from the image" in result.stderr
        config = podbay.home / "ssh_config"
        assert not config.exists() or "ProxyCommand sh" not in config.read_text()
        assert containers_of("evil") == []
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def test_remote_env_secrets_are_readable_by_root_only(podbay: Podbay) -> None:
    write_config(
        podbay.cwd / "secret",
        {"image": IMAGE, "remoteEnv": {"MY_SECRET": "hunter2"}, "userEnvProbe": "none"},
    )
    podbay.ok("up", "secret")
    container = podbay.status("secret")["containerId"]
    box = docker.from_env().containers.get(container)
    mode = box.exec_run(["stat", "-c", "%a", "/etc/podbay/ssh/sshd_config"], user="root")
    assert isinstance(mode.output, bytes) and mode.output.decode().strip() == "600"
    as_nobody = box.exec_run(["cat", "/etc/podbay/ssh/sshd_config"], user="nobody")
    assert as_nobody.exit_code != 0 and b"hunter2" not in as_nobody.output
    # The session still gets it.
    assert podbay.ok("ssh", "secret", "--", "printenv", "MY_SECRET").stdout == "hunter2\n"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_container_that_cannot_start_stays_visible_and_is_remade(
    podbay: Podbay, busy_port: int
) -> None:
    proj = podbay.cwd / "ap"
    write_config(proj, {"image": IMAGE, "appPort": busy_port, "userEnvProbe": "none"})
    result = podbay("up", "ap")
    assert_clean_error(result, "starting the container failed")
    [row] = podbay.json("list")
    assert row["status"] == "Error" and row["containerId"]
    assert containers_of("ap") == ["created"]

    write_config(proj, {"image": IMAGE, "userEnvProbe": "none"})  # the fix
    podbay.ok("up", "ap")
    assert podbay.status("ap")["status"] == "Running"
    assert containers_of("ap") == ["running"]
    podbay.ok("delete", "ap", "--yes")
    assert containers_of("ap") == []


def test_a_workspace_keeps_its_config_and_refuses_another(podbay: Podbay) -> None:
    multi = podbay.cwd / "multi"
    write_config(multi, {"image": IMAGE, "containerEnv": {"WHICH": "a"}}, ".devcontainer/a")
    write_config(multi, {"image": IMAGE, "containerEnv": {"WHICH": "b"}}, ".devcontainer/b")
    podbay.ok("up", "./multi", "--config", ".devcontainer/a/devcontainer.json")
    podbay.ok("stop", "multi")
    podbay.ok("up", "./multi")  # the workspace knows its config
    assert podbay.ok("exec", "multi", "--", "printenv", "WHICH").stdout == "a\n"
    other = podbay("up", "./multi", "--config", ".devcontainer/b/devcontainer.json")
    assert_clean_error(other, "was made with config")
    assert ".devcontainer/b/devcontainer.json" in other.stderr
    image = podbay("up", "./multi", "--image", "podbay-test/busybox:latest")
    assert_clean_error(image, "was made with its devcontainer.json, not --image")


def test_a_rebuild_that_cannot_make_its_image_keeps_the_old_container(podbay: Podbay) -> None:
    subprocess.run(["docker", "tag", IMAGE, "podbay-adv/scratch:1"], check=True)
    write_config(podbay.cwd / "rmimg", {"image": "podbay-adv/scratch:1", "userEnvProbe": "none"})
    podbay.ok("up", "rmimg")
    subprocess.run(["docker", "rmi", "podbay-adv/scratch:1"], check=True, capture_output=True)
    result = podbay("up", "rmimg", "--rebuild")
    assert result.returncode == 1
    assert "removing the old container" not in result.stderr
    assert containers_of("rmimg") == ["running"]
    assert podbay.ok("exec", "rmimg", "--", "true").returncode == 0


def repo_with_initialize_command(repo: Path) -> tuple[str, Path]:
    """A repository whose initializeCommand touches a file on this computer: (url, file)."""
    make_repo(repo)
    marker = repo.parent / f"{repo.name}-init-ran"
    write_config(repo, {"image": IMAGE, "initializeCommand": f"touch {marker}"})
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qam", "init"], check=True)
    return f"file://{repo}", marker


def test_a_cloned_repositorys_initialize_command_runs_only_with_consent(
    podbay: Podbay, tmp_path: Path
) -> None:
    # The review's S2: a cloned repository's initializeCommand ran on the host without a word.
    url, marker = repo_with_initialize_command(tmp_path / "initrepo")

    refused = podbay("up", url)
    assert_clean_error(refused, "initializeCommand runs on this computer", f"touch {marker}")
    assert "--yes" in refused.stderr
    assert not marker.exists()
    assert podbay.json("list") == []

    podbay.ok("up", url, "--yes")
    assert marker.exists()
    marker.unlink()
    podbay.ok("stop", "initrepo")
    podbay.ok("up", "initrepo")  # remembered for this repository and command
    assert marker.exists()


def test_an_images_request_for_the_host_is_named_before_it_runs(
    podbay: Podbay, tmp_path: Path
) -> None:
    # (--privileged is refused the same way, tests/unit; it cannot start in this sandbox)
    meta = [{"mounts": ["type=bind,source=/etc,target=/host-etc"]}]
    context = tmp_path / "greedy"
    context.mkdir()
    label = json.dumps(json.dumps(meta))
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nLABEL devcontainer.metadata={label}\n")
    tag = "podbay-test/greedy-metadata:1"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(context)], check=True, capture_output=True
    )
    try:
        refused = podbay("up", tag, "--name", "greedy")
        assert_clean_error(refused, "mounts this computer's '/etc'")
        assert containers_of("greedy") == []
        podbay.ok("up", tag, "--name", "greedy", "--yes")
        assert containers_of("greedy") == ["running"]
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def test_delete_names_an_anonymous_volume_and_keeps_named_ones(podbay: Podbay) -> None:
    write_config(
        podbay.cwd / "vols",
        {
            "image": IMAGE,
            "userEnvProbe": "none",
            "mounts": [
                "type=volume,target=/scratch",
                "type=volume,source=podbay-test-keep,target=/keep",
            ],
        },
    )
    podbay.ok("up", "vols")
    refused = podbay("delete", "vols", "--yes")
    assert_clean_error(refused, "the anonymous volume at /scratch")
    done = podbay.ok("delete", "vols", "--yes", "--force")
    assert "named volume podbay-test-keep (at /keep) is kept" in done.stderr
    assert "docker volume rm podbay-test-keep" in done.stderr
    docker.from_env().volumes.get("podbay-test-keep").remove()
