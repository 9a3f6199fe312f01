"""podbay's ssh_config against OpenSSH itself (`ssh -G` as the oracle): whatever a config, an
image label or a path holds, the file says exactly what podbay means and nothing more.

The review's S1: a `remoteUser` with a newline added `Host *` with a ProxyCommand, so every ssh
on the machine ran an attacker's command once the file was included from ~/.ssh/config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podbay.core.ssh import config as ssh_config

SSH = shutil.which("ssh")
pytestmark = pytest.mark.skipif(
    SSH is None and not os.environ.get("PODBAY_REQUIRE_DOCKER"),
    reason="needs OpenSSH's ssh client (make test installs it)",
)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyDataForTestsOnly podbay"


def ssh_g(config: Path, host: str) -> dict[str, str]:
    """The settings OpenSSH takes from `config` for `host` (first word -> rest of the line)."""
    result = subprocess.run(
        [SSH or "ssh", "-G", "-F", str(config), host],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(config.parent)},
    )
    assert result.returncode == 0, result.stderr
    settings_: dict[str, str] = {}
    for line in result.stdout.split("\n"):
        key, _, value = line.partition(" ")
        settings_.setdefault(key, value)
    return settings_


def shell_words(line: str) -> list[str]:
    """The words a real shell makes of a command line."""
    done = subprocess.run(
        ["sh", "-c", "printf '%s\\0' " + line], capture_output=True, check=True, env={}
    )
    return done.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]


def defaults(root: Path) -> dict[str, str]:
    empty = root / "empty_config"
    empty.write_text("")
    return ssh_g(empty, "github.com")


def write(root: Path, entries: list[ssh_config.HostEntry]) -> Path:
    ssh_config.write(root, entries)
    return ssh_config.ssh_config_path(root)


hostile = st.text(
    alphabet=st.sampled_from(list(" \t\n\r\"'\\%#=*?!$;`&|<>(){}~") + list("aZ09.-_@:/")),
    min_size=1,
    max_size=20,
)


@given(user=hostile, name=hostile)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_user_and_name_never_add_a_directive(user: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        entry = ssh_config.HostEntry(name, user, root / "keys" / "id", HOST_KEY)
        path = write(root, [entry])
        # Any other host sees what it sees without podbay's file: nothing leaked out.
        assert ssh_g(path, "github.com") == defaults(root)
        text = path.read_text()
        if f"Host {name}.podbay" in text:
            # Written only when valid, and then read back exactly.
            got = ssh_g(path, f"{name}.podbay")
            assert got["user"] == user
            assert got["stricthostkeychecking"] == "true"


@given(home=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_paths_with_any_characters_parse_back_to_the_same_paths(home: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / home.replace("/", "_").replace("\x00", "_")
        entry = ssh_config.HostEntry("web", "vscode", root / "keys" / "web" / "id", HOST_KEY)
        try:
            root.mkdir()
        except (OSError, ValueError):
            return  # not a file name this file system takes
        path = write(root, [entry])
        if "Host web.podbay" not in path.read_text():
            # Left out only for what ssh_config cannot hold: a control character, or `${`.
            assert "${" in str(root) or any(ord(c) < 32 or ord(c) == 127 for c in str(root))
            return
        got = ssh_g(path, "web.podbay")
        # IdentityFile is shown as written; OpenSSH expands its %-tokens when it connects.
        assert got["identityfile"].replace("%%", "%") == str(entry.identity_file)
        assert got["userknownhostsfile"] == str(ssh_config.known_hosts_path(root))
        # ProxyCommand: OpenSSH expands %% at connect time, then hands the line to a shell.
        argv = shell_words(got["proxycommand"].replace("%%", "%"))
        assert argv[:2] == ["env", f"PODBAY_HOME={root}"]
        assert argv[-1] == "web"
        # ControlPath is shown expanded: the socket podbay closes at stop is the one ssh uses.
        socket = ssh_config.control_path(root, "web", "vscode")
        assert got.get("controlpath") == (str(socket) if socket else None)
        assert ssh_g(path, "github.com") == defaults(root)


def test_the_reviews_injection_is_not_written(tmp_path: Path) -> None:
    user = "root\nHost *\n  ProxyCommand sh -c 'touch $HOME/PWNED; exec nc %h %p'"
    good = ssh_config.HostEntry("good", "vscode", tmp_path / "id", HOST_KEY)
    evil = ssh_config.HostEntry("evil", user, tmp_path / "id", HOST_KEY)
    path = write(tmp_path, [good, evil])
    text = path.read_text()
    assert "PWNED" not in text and "evil.podbay" not in text
    assert ssh_g(path, "good.podbay")["user"] == "vscode"
    assert ssh_g(path, "github.com") == defaults(tmp_path)
    # Its key may still be pinned for podbay's own client: one plain line per host.
    for line in ssh_config.known_hosts_path(tmp_path).read_text().splitlines():
        assert line.split() == [line.split()[0], "ssh-ed25519", HOST_KEY.split()[1]]


@given(home=st.text(alphabet=st.sampled_from(list("ab *?[]\\\"'%#$~!{}")), min_size=1, max_size=10))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_include_line_finds_podbays_file_whatever_the_path(home: str) -> None:
    # The review's U8: '"' in the path broke the user's whole ~/.ssh/config; glob characters
    # made the Include find nothing.
    from podbay.core.ssh import user_config

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / home.replace("/", "_")
        root.mkdir()
        entry = ssh_config.HostEntry("web", "vscode", root / "id", HOST_KEY)
        included = write(root, [entry])
        main = Path(folder) / "config"
        main.write_text(user_config.include_line(included) + "\n")
        if "${" in home:
            assert "web.podbay" not in included.read_text()  # left out; see the test above
            return
        assert ssh_g(main, "web.podbay")["user"] == "vscode"


def test_an_ssh_config_from_an_older_podbay_is_rewritten_once(tmp_path: Path) -> None:
    """After an upgrade moved the package, `ssh NAME.podbay` must not run a stale command."""
    from podbay.core.ssh import config as ssh_config
    from podbay.core.ssh.setup import refresh_ssh_config
    from podbay.core.store import Store

    store = Store(tmp_path)
    assert not refresh_ssh_config(store)  # no ssh_config yet: nothing to do
    path = ssh_config.ssh_config_path(tmp_path)
    old = "Host w.podbay\n  ProxyCommand /usr/bin/python3 -S -E -c 'import core.attach' w\n"
    path.write_text(old)
    assert refresh_ssh_config(store)
    assert "import core.attach" not in path.read_text()
    current = ssh_config.proxy_command("w").replace("%", "%%")
    path.write_text(f"Host w.podbay\n  ProxyCommand env PODBAY_HOME=x {current}\n")
    assert not refresh_ssh_config(store)  # this podbay's own: left alone
    assert "PODBAY_HOME=x" in path.read_text()


def test_connections_share_a_master_unless_its_socket_path_is_too_long(tmp_path: Path) -> None:
    entry = ssh_config.HostEntry("web", "vscode", tmp_path / "id", HOST_KEY)
    short = Path(tempfile.mkdtemp(prefix="pb-"))
    try:
        got = ssh_g(write(short, [entry]), "web.podbay")
        assert got["controlmaster"] == "auto" and got["controlpersist"] == "1"
        assert got["forwardagent"] == "yes"
        assert got["controlpath"].startswith(str(short / "cm") + "/")
    finally:
        shutil.rmtree(short)
    # The folder the ProxyCommand makes is the one the socket is in.
    assert ssh_config.control_dir(tmp_path).name == "cm"
    # A master does not check the user a later connection asks for: one per user.
    root = Path("/r")
    assert ssh_config.control_path(root, "web", "a") != ssh_config.control_path(root, "web", "b")
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    got = ssh_g(write(deep, [entry]), "web.podbay")
    # A socket path over the limit would make ssh exit: no multiplexing then, ssh still works.
    assert "controlpath" not in got and got["controlmaster"] == "false"
