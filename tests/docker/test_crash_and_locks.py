"""kill -9 at every step of `up`, two `up`s at once, and the one-call status poll."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import Any

import docker
import pytest

from podbay import providers
from podbay.core.docker import DockerEndpoint
from podbay.core.engine import Engine
from podbay.core.model import ProviderConfig, Source, Workspace
from podbay.core.store import Store
from tests.conftest import BUSYBOX, IMAGE, Podbay, write_config

STEPS = [
    "recorded",
    "source",
    "image",
    "created",
    "started",
    "hook:onCreateCommand",
    "hook:postCreateCommand",
    "ssh",
]


def containers_of(podbay: Podbay, name: str) -> list[dict[str, object]]:
    install_id = Store(podbay.home).install_id()
    found: list[dict[str, object]] = docker.from_env().api.containers(
        all=True,
        filters={"label": [f"dev.podbay.home={install_id}", f"dev.podbay.workspace={name}"]},
    )
    return found


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_during_up_then_up_repairs(podbay: Podbay, tmp_path: Path, step: str) -> None:
    # A git source, so the clone step is covered too.
    repo = tmp_path / "repo"
    write_config(
        repo,
        {
            "image": IMAGE,
            "onCreateCommand": "echo x >> /tmp/onCreate",
            "postCreateCommand": "echo x >> /tmp/postCreate",
            "postStartCommand": "echo x >> /tmp/postStart",
        },
    )
    git = ["git", "-c", "user.email=t@e", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)

    killed = podbay("up", f"file://{repo}", env={"PODBAY_TEST_KILL_AT": step})
    assert killed.returncode == -9, killed.stderr

    [row] = podbay.json("list")
    assert row["status"] == "Incomplete", row  # never Running while unfinished
    assert row["hint"] == "podbay up repo"

    podbay.ok("up", "repo")
    assert podbay.status("repo")["status"] == "Running"
    assert len(containers_of(podbay, "repo")) == 1
    ssh = subprocess.run(
        ["ssh", "-F", str(podbay.home / "ssh_config"), "repo.podbay", "true"],
        capture_output=True,
        env=podbay.env,
        timeout=60,
        check=False,
    )
    assert ssh.returncode == 0, ssh.stderr
    for hook in ("onCreate", "postCreate", "postStart"):
        ran = podbay.ok("exec", "repo", "--", "cat", f"/tmp/{hook}").stdout
        assert ran == "x\n", f"{hook} ran {ran.count('x')} times after a kill at {step}"


def test_a_rebuild_killed_half_way_is_incomplete_not_running(podbay: Podbay) -> None:
    """B1: an `up` of a ready workspace that never finished (its process killed in a hook of the
    new container) shows as Incomplete, with the command that finishes it; that `up` does."""
    write_config(podbay.cwd / "half", {"image": IMAGE, "postCreateCommand": "echo made"})
    podbay.ok("up", "half")
    killed = podbay(
        "up", "half", "--rebuild", env={"PODBAY_TEST_KILL_AT": "hook:postCreateCommand"}
    )
    assert killed.returncode == -9, killed.stderr
    listed = podbay("list")
    assert "Incomplete" in listed.stdout
    assert "half: its last `up` was interrupted before it finished; run: podbay up half" in (
        listed.stderr
    )
    podbay.ok("up", "half")
    assert podbay.status("half")["status"] == "Running"


@pytest.mark.parametrize(
    "user",
    [{"image": BUSYBOX}, {"image": IMAGE, "remoteUser": "nobody"}],
    ids=["busybox", "nobody"],
)
def test_ctrl_c_in_a_hook_stops_what_it_started_and_leaves_it_incomplete(
    podbay: Podbay, user: dict[str, str]
) -> None:
    """B9: the hook's processes (a child in the background too) stop with the `up` that ran
    them: on a minimal image (busybox, no /etc/passwd), and for a hook run as another user
    than root (whose processes' environment root may not read)."""
    write_config(podbay.cwd / "intr", {**user, "postCreateCommand": "sleep 601 & sleep 602"})
    up = podbay.popen("up", "intr")
    assert up.stderr is not None
    for line in up.stderr:
        if "running postCreateCommand" in line:
            break
    up.send_signal(signal.SIGINT)
    _, err = up.communicate(timeout=60)
    assert up.returncode == 130, err
    assert "stopped postCreateCommand" in err and "Traceback" not in err
    [container] = containers_of(podbay, "intr")
    processes = docker.from_env().api.top(str(container["Id"]))["Processes"]
    assert not any("sleep 60" in " ".join(p) for p in processes), processes
    assert podbay.status("intr")["status"] == "Incomplete"


def test_two_ups_at_once_make_one_container(podbay: Podbay) -> None:
    write_config(podbay.cwd / "race", {"image": IMAGE, "onCreateCommand": "echo x >> /tmp/n"})
    first = podbay.popen("up", "race")
    second = podbay.popen("up", "race")
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert len(containers_of(podbay, "race")) == 1
    assert podbay.ok("exec", "race", "--", "cat", "/tmp/n").stdout == "x\n"


def test_a_held_lock_shows_busy_and_is_waited_for(podbay: Podbay) -> None:
    write_config(podbay.cwd / "held", {"image": IMAGE})
    podbay.ok("up", "held")
    store = Store(podbay.home)
    with store.try_lock("held", "rebuild (from the TUI)") as taken:
        assert taken
        [row] = podbay.json("list")
        assert row["status"] == "Busy" and row["detail"] == "rebuild (from the TUI)"
        waiter = podbay.popen("stop", "held")
        assert waiter.stderr is not None
        assert waiter.stderr.readline() == "==> waiting for rebuild (from the TUI) to finish\n"
    waiter.wait(timeout=60)
    assert waiter.returncode == 0
    assert podbay.status("held")["status"] == "Stopped"


def test_status_of_many_workspaces_is_one_docker_call(
    podbay: Podbay, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(podbay.home)
    store.save_provider(ProviderConfig(name="docker", type="docker"))
    for i in range(2):
        write_config(podbay.cwd / f"w{i}", {"image": IMAGE})
    store.set_meta("default_provider", "docker")
    store.set_meta("initialised", "1")
    for i in range(2):
        podbay.ok("up", f"w{i}")
    for i in range(40):  # records without containers count too
        store.insert_workspace(
            Workspace(
                name=f"ghost{i}",
                provider="docker",
                source=Source(kind="image", value=IMAGE),
                folder="/nonexistent",
                owned_folder=True,
                phase="ready",
                container_name=f"ghost{i}",
            )
        )
    calls: list[str] = []
    # Every API request goes through one of these two (the SDK's, and the socket's own).
    for entry in ("call", "ask"):
        real = getattr(DockerEndpoint, entry)

        def counting(
            self: DockerEndpoint, what: str, *args: object, _real: Any = real, **kw: object
        ) -> object:
            calls.append(what)
            return _real(self, what, *args, **kw)

        monkeypatch.setattr(DockerEndpoint, entry, counting)
    statuses = asyncio.run(Engine(store, providers.load).status_all())
    assert calls == ["listing containers"]
    by_name = {s.workspace.name: str(s.status) for s in statuses}
    assert by_name["w0"] == by_name["w1"] == "Running"
    assert by_name["ghost7"] == "NotFound"
