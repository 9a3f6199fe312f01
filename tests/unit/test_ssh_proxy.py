"""The ProxyCommand's quick read of a record (core/ssh/proxy.py): it takes the fast way only for
a ready workspace on a shared engine and leaves everything else to core.attach, which says
what is missing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from podbay.core.errors import PodbayError
from podbay.core.model import MachineRecord, ProviderConfig, Source, SshAddress, Workspace
from podbay.core.ssh import proxy, relay
from podbay.core.ssh.sshd import SESSION_ENV, SSHD_SCRIPT
from podbay.core.store import Store


def _workspace(name: str, **fields: object) -> Workspace:
    base: dict[str, object] = {
        "name": name,
        "provider": "docker",
        "source": Source(kind="image", value="busybox"),
        "folder": "/nonexistent",
        "owned_folder": True,
        "container_name": name,
        "container_id": f"c-{name}",
        "phase": "ready",
        "usable": True,
        "ssh_ready": True,
    }
    return Workspace.model_validate({**base, **fields})


@pytest.fixture(autouse=True)
def docker_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "docker").chmod(0o755)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    store = Store(tmp_path / "home")
    store.save_provider(ProviderConfig(name="docker", type="docker"))
    store.save_provider(ProviderConfig(name="far", type="docker", options={"host": "tcp://h:1"}))
    store.insert_workspace(_workspace("ready"))
    store.insert_workspace(_workspace("far", provider="far"))
    store.insert_workspace(_workspace("nossh", ssh_ready=False))
    store.insert_workspace(_workspace("making", phase="creating", usable=False))
    address = SshAddress(host="203.0.113.9", port=22, user="podbay", host_public_key="k")
    store.insert_workspace(_workspace("vm", machine=MachineRecord(ssh=address)))
    store.close()
    return tmp_path / "home"


def test_a_ready_local_workspace_gets_docker_exec_at_once(home: Path) -> None:
    docker = str(home.parent / "bin" / "docker")
    tail = ["exec", "-i", "-u", "0", "c-ready", "/bin/sh", "-c", SSHD_SCRIPT]
    assert proxy._fast_argv(str(home), "ready") == [docker, *tail]
    far = proxy._fast_argv(str(home), "far")
    assert far is not None and far[:3] == [docker, "-H", "tcp://h:1"]


@pytest.mark.parametrize("name", ["nossh", "making", "vm", "ghost"])
def test_everything_else_is_left_to_the_full_read(home: Path, name: str) -> None:
    assert proxy._fast_argv(str(home), name) is None


def test_a_home_with_uri_characters_is_read(tmp_path: Path) -> None:
    odd = tmp_path / "a #b ?c %d"
    store = Store(odd)
    store.insert_workspace(_workspace("ready"))
    store.close()
    assert proxy._fast_argv(str(odd), "ready") is not None


def test_the_session_environment_is_asked_for_only_when_there_may_be_some(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret is set for the workspace or for every one, or the workspace has hosts whose
    git credentials are lent."""
    assert not proxy._has_session_env(str(home), "ready")
    store = Store(home)
    store.set_meta("secrets", "[]")
    store.set_meta("git-hosts:ready", "[]")
    assert not proxy._has_session_env(str(home), "ready")
    store.set_meta("git-hosts:ready", '["https://example.org"]')
    assert proxy._has_session_env(str(home), "ready")
    assert not proxy._has_session_env(str(home), "far")
    store.insert_workspace(_workspace("lends", git_hosts=["https://example.org"]))
    assert proxy._has_session_env(str(home), "lends")
    store.set_meta("secrets", '[{"name": "A", "where": "file", "workspace": "other"}]')
    assert not proxy._has_session_env(str(home), "far")  # another workspace's
    store.set_meta("secrets", '[{"name": "A", "where": "file", "workspace": "far"}]')
    assert proxy._has_session_env(str(home), "far")
    store.set_meta("secrets", '[{"name": "A", "where": "file", "workspace": ""}]')
    store.close()
    assert proxy._has_session_env(str(home), "nossh")
    monkeypatch.setenv(SESSION_ENV, "")  # (undone after the test)
    # (a workspace on its own machine named "exec": the relay's argv holds the word twice)
    argv = ["python", "-c", "relay", "exec", "docker", "exec", "-i", "c", "/bin/sh", "-c", "S"]
    assert proxy.with_session_env(argv, "") == argv
    given = proxy.with_session_env(argv, '"A=1"')
    assert given[3:] == [
        "exec",
        "docker",
        "exec",
        "-i",
        "-e",
        SESSION_ENV,
        "c",
        "/bin/sh",
        "-c",
        "S",
    ]
    assert os.environ[SESSION_ENV] == '"A=1"'  # the value by the environment, not the argv
    with pytest.raises(PodbayError, match="more than an ssh connection's environment carries"):
        proxy.with_session_env(argv, "x" * (200 * 1024))


@pytest.mark.parametrize(
    "shell",
    [
        pytest.param(s, marks=pytest.mark.skipif(not os.path.exists(s), reason=s))
        for s in ("/bin/dash", "/bin/busybox")
    ],
)
def test_the_relay_carries_values_on_the_input_exactly(shell: str, tmp_path: Path) -> None:
    """`-e NAME` of docker exec's own options (not the command's) is read on the machine from
    the channel's input, byte for byte, before the rest of the input, by `sh` whatever the
    login shell; a terminal is asked for only with -t."""
    values = {"A": "two\nlines \"'$x`\n\n", "B": "ünï", "C": "not asked"}
    argv = ["docker", "exec", "-i", "-e", "A", "-u", "0", "-e", "B", "-e", "D=1", "c",
            "cmd", "-e", "C"]  # fmt: skip
    command, prelude = relay.carried(argv, values)
    assert prelude == (values["A"] + values["B"]).encode()
    assert values["A"] not in command and "ünï" not in command
    machine = tmp_path / "machine"  # its sh, and a docker CLI that shows what it got
    machine.mkdir()
    (machine / "sh").symlink_to(shell)
    (machine / "docker").write_text('#!/bin/sh\nprintf "[%s][%s][%s]" "$A" "$B" "${C-}"; cat\n')
    (machine / "docker").chmod(0o755)
    done = subprocess.run(
        [str(machine / "sh"), "-c", command],
        input=prelude + b"rest",
        capture_output=True,
        env={"PATH": f"{machine}:/usr/bin:/bin"},
    )
    assert done.stdout.decode() == f"[{values['A']}][ünï][]rest", done.stderr
    assert relay.carried(["docker", "exec", "-i", "c"], values) == ("docker exec -i c", b"")
    assert relay.wants_terminal(["docker", "exec", "-it", "c"])
    assert not relay.wants_terminal(["docker", "exec", "-i", "-e", "T", "c", "top", "-t"])
