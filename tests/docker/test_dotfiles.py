"""Your dotfiles in every new container: a local repository (file://, as any git URL) cloned on
this computer, copied into ~/dotfiles as the remote user, installed between postCreateCommand
and postStartCommand; failures and hangs are warnings, never a failed `up`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker
import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.docker.test_crash_and_locks import containers_of

GIT = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
USER_IMAGE = "podbay-test/dotfiles-user:1"


def dotfiles_repo(folder: Path, files: dict[str, str]) -> str:
    """A git repository holding `files` (a name ending in .sh is executable); its URL."""
    folder.mkdir(parents=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    subprocess.run([*GIT, "init", "-q", str(folder)], check=True)
    subprocess.run([*GIT, "-C", str(folder), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-qm", "dotfiles"], check=True)
    return f"file://{folder}"


@pytest.fixture(scope="module")
def user_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("user-image")
    (folder / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN useradd -m -u 1234 -s /bin/sh dev\n")
    subprocess.run(["docker", "build", "-q", "-t", USER_IMAGE, str(folder)], check=True)
    return USER_IMAGE


def project(podbay: Podbay, name: str, image: str) -> None:
    write_config(
        podbay.cwd / name,
        {
            "image": image,
            "remoteUser": "dev",
            "postCreateCommand": "echo create >> /tmp/order",
            "postStartCommand": "echo start >> /tmp/order",
        },
    )


def test_dotfiles_are_installed_as_the_user_between_the_create_and_start_hooks(
    podbay: Podbay, tmp_path: Path, user_image: str
) -> None:
    url = dotfiles_repo(
        tmp_path / "dots",
        {
            "install.sh": '#!/bin/sh\necho dotfiles >> /tmp/order\nid -un > "$HOME/.installed"\n',
            ".aliases": "alias ll='ls -l'\n",
        },
    )
    shown = podbay.ok("dotfiles", "--set", url).stdout
    assert shown == f"new workspaces: {url}\n"
    project(podbay, "dots", user_image)
    up = podbay.ok("up", "dots")
    assert f"==> installing dotfiles from {url}" in up.stderr
    assert "running ./install.sh" in up.stderr
    inside = podbay.ok(
        "exec", "dots", "--", "sh", "-c",
        "cat /tmp/order ~/.installed; stat -c '%U %a' ~/dotfiles ~/dotfiles/install.sh;"
        " cd ~/dotfiles && git log --format=%s",
    ).stdout.split("\n")  # fmt: skip
    assert inside[:4] == ["create", "dotfiles", "start", "dev"]
    assert inside[4:6] == ["dev 755", "dev 755"]  # the user's own files, the mode kept
    assert inside[6] == "dotfiles"  # a repository: `git pull` works later
    # Once per container: a later `up` does not install them again.
    podbay.ok("stop", "dots")
    podbay.ok("up", "dots")
    order = podbay.ok("exec", "dots", "--", "cat", "/tmp/order").stdout.split()
    assert order == ["create", "dotfiles", "start", "start"]


def test_without_an_install_script_the_dotfiles_are_linked_and_a_workspace_may_opt_out(
    podbay: Podbay, tmp_path: Path, user_image: str
) -> None:
    url = dotfiles_repo(tmp_path / "plain", {".vimrc": "set number\n", "README": "mine\n"})
    podbay.ok("dotfiles", "--set", url)
    project(podbay, "linked", user_image)
    podbay.ok("up", "linked")
    linked = podbay.ok("exec", "linked", "--", "sh", "-c", "readlink ~/.vimrc; ls -A ~")
    assert linked.stdout.split("\n")[0] == "/home/dev/dotfiles/.vimrc"
    assert ".git" not in linked.stdout.split("\n")[1:]  # the repository's own .git stays

    # --no-dotfiles, and a workspace's own "none".
    project(podbay, "bare", user_image)
    up = podbay.ok("up", "bare", "--no-dotfiles")
    assert "dotfiles: not installed (--no-dotfiles)" in up.stderr
    assert podbay("exec", "bare", "--", "test", "-e", "/home/dev/dotfiles").returncode == 1
    assert podbay.ok("dotfiles", "bare", "--set", "none").stdout == "bare: no dotfiles\n"
    up = podbay.ok("up", "bare", "--rebuild")
    assert "installing dotfiles" not in up.stderr
    assert podbay("exec", "bare", "--", "test", "-e", "/home/dev/dotfiles").returncode == 1
    podbay.ok("dotfiles", "bare", "--set", "default")
    assert podbay.json("dotfiles", "bare") == {
        "name": "bare", "url": url, "install": "", "timeout": 600, "from": "default",
        "outcome": "success",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("files", "install", "warning"),
    [
        (None, "", "dotfiles not installed: git clone of file://"),
        ({"install.sh": "#!/bin/sh\necho broken >&2\nexit 3\n"}, "",
         "dotfiles: the dotfiles' install failed with exit code 3"),
        ({"setup": "#!/bin/sh\necho started\nsleep 601\n"}, "",
         "dotfiles: the install did not finish in 3 s and was stopped"),
        ({"README": "x\n"}, "make install",
         "dotfiles: the dotfiles' install failed with exit code 127"),
    ],
    ids=["missing-repository", "failing-install", "hanging-install", "missing-command"],
)  # fmt: skip
def test_dotfiles_that_fail_are_a_warning_and_the_workspace_is_ready(
    podbay: Podbay,
    tmp_path: Path,
    user_image: str,
    files: dict[str, str] | None,
    install: str,
    warning: str,
) -> None:
    url = f"file://{tmp_path}/nowhere" if files is None else dotfiles_repo(tmp_path / "d", files)
    podbay.ok("dotfiles", "--set", url, "--timeout", "3", *(["--install", install] * bool(install)))
    project(podbay, "fails", user_image)
    up = podbay("up", "fails")
    assert up.returncode == 0, up.stderr
    assert warning in up.stderr, up.stderr
    assert "Traceback" not in up.stderr
    assert podbay.status("fails")["status"] == "Running"
    [container] = containers_of(podbay, "fails")
    processes = docker.from_env().api.top(str(container["Id"]))["Processes"]
    assert not any("sleep 601" in " ".join(p) for p in processes), processes
    # The start hook still ran after them.
    order = podbay.ok("exec", "fails", "--", "cat", "/tmp/order").stdout.split()
    assert order == ["create", "start"]


def test_a_container_made_before_dotfiles_were_set_is_left_as_it_is(
    podbay: Podbay, tmp_path: Path, user_image: str
) -> None:
    project(podbay, "older", user_image)
    podbay.ok("up", "older")
    podbay.ok("dotfiles", "--set", dotfiles_repo(tmp_path / "later", {".vimrc": "x\n"}))
    up = podbay.ok("up", "older")
    assert "installing dotfiles" not in up.stderr
    assert podbay("exec", "older", "--", "test", "-e", "/home/dev/dotfiles").returncode == 1
    podbay.ok("up", "older", "--rebuild")  # a new container gets them
    assert podbay.ok("exec", "older", "--", "readlink", "/home/dev/.vimrc").stdout == (
        "/home/dev/dotfiles/.vimrc\n"
    )
