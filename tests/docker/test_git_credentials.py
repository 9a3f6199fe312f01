"""git over HTTPS inside a workspace with this computer's credentials: lent per `podbay ssh`
session, for the workspace's own remotes (and hosts the user adds) only, never written in the
container. The server is git's http-backend behind busybox httpd with basic auth, in a
container of the tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import IMAGE, Podbay, write_config

PASSWORD = "s3cret-of-podbay-tests"
SERVER = """
mkdir -p /srv/www/cgi-bin /srv/git
git init -q --bare /srv/git/repo.git
git --git-dir=/srv/git/repo.git config http.receivepack true
printf '#!/bin/sh\\nexport GIT_PROJECT_ROOT=/srv/git GIT_HTTP_EXPORT_ALL=1\\n%s\\n' \
  'exec /usr/lib/git-core/git-http-backend' > /srv/www/cgi-bin/git
chmod 755 /srv/www/cgi-bin/git
printf '/cgi-bin:%s:%s\\n' "$1" "$2" > /srv/httpd.conf
busybox httpd -p 8081 -h /srv/www -c /srv/httpd.conf
exec busybox httpd -f -p 8080 -h /srv/www -c /srv/httpd.conf
"""


@pytest.fixture
def http_git() -> Iterator[str]:
    """A git server over HTTP with basic auth (user `me`), on ports 8080 and 8081 of one
    container: its address."""
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is installed by make images"
    server = docker.from_env().containers.run(
        IMAGE,
        ["sh", "-c", SERVER, "sh", "me", PASSWORD],
        detach=True,
        labels={"podbay-test": "git-http"},
        volumes={busybox: {"bind": "/usr/local/bin/busybox", "mode": "ro"}},
    )
    try:
        server.reload()
        address = server.attrs["NetworkSettings"]["IPAddress"]
        deadline = time.monotonic() + 60
        for port in (8080, 8081):
            while True:
                try:
                    socket.create_connection((address, port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, server.logs().decode(errors="replace")
                    time.sleep(0.05)
        yield address
    finally:
        server.remove(force=True)


def computer_with_credentials(tmp_path: Path, address: str) -> dict[str, str]:
    """This computer's git: a credential store holding the password for both ports."""
    store = tmp_path / "credentials"
    store.write_text("".join(f"http://me:{PASSWORD}@{address}:{port}\n" for port in (8080, 8081)))
    config = tmp_path / "gitconfig"
    subprocess.run(
        ["git", "config", "--file", str(config), "credential.helper", f"store --file={store}"],
        check=True,
    )
    return {"GIT_CONFIG_GLOBAL": str(config)}


def test_git_over_https_gets_this_computers_credentials_for_its_own_remotes_only(
    podbay: Podbay, tmp_path: Path, http_git: str
) -> None:
    env = computer_with_credentials(tmp_path, http_git)
    folder = podbay.cwd / "web"
    write_config(folder, {"image": IMAGE})
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "from the workspace"], check=True)
    origin = f"http://{http_git}:8080/cgi-bin/git/repo.git"
    subprocess.run([*git, "remote", "add", "origin", origin], check=True)
    podbay.ok("up", "web", env=env)
    hosts = podbay.json("git-hosts", "web", env=env)
    assert (hosts["remotes"], hosts["added"]) == ([f"http://{http_git}:8080"], [])

    # The session's socket is its user's alone.
    mode = podbay.ok("ssh", "web", "--", 'stat -c "%a %U %F" "$PODBAY_GIT_CREDENTIALS"', env=env)
    assert mode.stdout == "600 root socket\n"
    quiet = "GIT_TERMINAL_PROMPT=0 git -c safe.directory='*'"
    push = f"{quiet} push -q origin HEAD:main 2>&1 && echo pushed"
    assert podbay.ok("ssh", "web", "--", push, env=env).stdout.endswith("pushed\n")
    pushed = subprocess.run(
        ["docker", "exec", "-i", _server(http_git), "git", "--git-dir=/srv/git/repo.git",
         "log", "-1", "--format=%s", "main"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert pushed.stdout == "from the workspace\n"

    # Another host (here: another port) is not one of its remotes: git gets nothing for it.
    other = f"http://{http_git}:8081/cgi-bin/git/repo.git"
    ask_other = f"{quiet} ls-remote {other} 2>&1; echo rc=$?"
    refused = podbay.ok("ssh", "web", "--", ask_other, env=env).stdout
    assert "rc=128" in refused and "could not read Username" in refused, refused
    added = podbay.ok("git-hosts", "web", "--add", f"http://{http_git}:8081", env=env).stdout
    assert f"  http://{http_git}:8081  (added)" in added
    allowed = podbay.ok("ssh", "web", "--", ask_other, env=env).stdout
    assert "refs/heads/main" in allowed and "rc=0" in allowed, allowed

    # Once the session is over, its socket answers nobody; no credential is in any file.
    after = podbay.ok(
        "exec", "web", "--", "sh", "-c",
        f"for s in /tmp/podbay-git-*; do PODBAY_GIT_CREDENTIALS=$s {quiet} ls-remote origin"
        " 2>&1; done; ls -l /tmp",
    ).stdout  # fmt: skip
    assert "refs/heads/main" not in after, after
    scan = podbay(
        "exec", "web", "--", "grep", "-rIl", "--exclude-dir=proc", "--exclude-dir=sys",
        "--exclude-dir=dev", PASSWORD, "/",
    )  # fmt: skip
    assert scan.returncode == 1 and scan.stdout == "", scan.stdout


def test_openssh_and_vs_code_sessions_get_them_while_connected(
    podbay: Podbay, tmp_path: Path, http_git: str
) -> None:
    """`ssh NAME.podbay` (VS Code's way in): a lender beside the connection holds the socket;
    once the connection is over, the lender is gone and nothing answers."""
    env = {**podbay.env, **computer_with_credentials(tmp_path, http_git)}
    folder = podbay.cwd / "site"
    write_config(folder, {"image": IMAGE, "remoteUser": "root"})
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "over openssh"], check=True)
    origin = f"http://{http_git}:8080/cgi-bin/git/repo.git"
    subprocess.run([*git, "remote", "add", "origin", origin], check=True)
    podbay.ok("up", "site", env=env)
    config = str(podbay.home / "ssh_config")
    quiet = "GIT_TERMINAL_PROMPT=0 git -c safe.directory='*'"
    command = (
        f"{quiet} push -q origin HEAD:main 2>&1 && echo pushed;"
        ' stat -c "%a %U %F" "$PODBAY_GIT_CREDENTIALS"'
    )
    done = subprocess.run(
        ["ssh", "-F", config, "site.podbay", command],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stdout == "pushed\n600 root socket\n", done.stdout + done.stderr
    pushed = subprocess.run(
        ["docker", "exec", "-i", _server(http_git), "git", "--git-dir=/srv/git/repo.git",
         "log", "-1", "--format=%s", "main"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert pushed.stdout == "over openssh\n"

    # The master connection ends a second after its last session; the lender goes with it.
    deadline = time.monotonic() + 20
    while _lenders(podbay.home):
        assert time.monotonic() < deadline, "the lender stayed"
        time.sleep(0.1)
    after = podbay.ok(
        "exec", "site", "--", "sh", "-c",
        f"for s in /tmp/podbay-git-*; do PODBAY_GIT_CREDENTIALS=$s {quiet} ls-remote origin"
        " 2>&1; done; true",
    ).stdout  # fmt: skip
    assert "refs/heads/main" not in after, after


def _lenders(home: Path) -> list[int]:
    """The lenders of this test's podbay (tui/ssh_proxy.py), by their command and home."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"p.lender()" in command and f"PODBAY_HOME={home}".encode() in environ:
            found.append(int(proc.name))
    return found


def _server(address: str) -> str:
    for container in docker.from_env().containers.list(filters={"label": "podbay-test=git-http"}):
        if container.attrs["NetworkSettings"]["IPAddress"] == address:
            return str(container.id)
    raise AssertionError("the git server is gone")
