"""A folder workspace through its whole life, against the real engine."""

from __future__ import annotations

import json
import re
import subprocess
import time

import docker
import pytest

from podbay.core import oplog
from podbay.core.store import Store
from tests.conftest import BUSYBOX, IMAGE, PODBAY, Podbay, write_config

HOOKS = {
    "image": IMAGE,
    "containerEnv": {"GREETING": "hello"},
    "containerUser": "root",
    "remoteUser": "nobody",
    "remoteEnv": {"FROM_CONTAINER": "${containerEnv:GREETING}-there", "DROPPED": None},
    "workspaceFolder": "/workspaces/${localWorkspaceFolderBasename}",
    "onCreateCommand": "echo onCreate >> /tmp/hooks.log",
    "updateContentCommand": ["sh", "-c", "echo updateContent >> /tmp/hooks.log"],
    "postCreateCommand": {
        "one": "echo postCreate-one >> /tmp/hooks.log; echo streamed-one",
        "two": ["sh", "-c", "echo postCreate-two >> /tmp/hooks.log"],
    },
    "postStartCommand": "echo postStart >> /tmp/hooks.log; whoami; pwd",
}


def hooks_log(podbay: Podbay, name: str) -> list[str]:
    result = podbay.ok("exec", name, "--", "cat", "/tmp/hooks.log")
    return result.stdout.split()


def test_folder_workspace_lifecycle(podbay: Podbay) -> None:
    proj = podbay.cwd / "proj"
    write_config(proj, HOOKS)
    (proj / "hello.txt").write_text("from the host\n")

    up = podbay("up", "proj", "--json")
    assert up.returncode == 0, up.stderr
    result = json.loads(up.stdout)
    assert result["outcome"] == "success"
    assert result["remoteUser"] == "nobody"
    assert result["remoteWorkspaceFolder"] == "/workspaces/proj"
    # Hook output is streamed, parallel parts labelled.
    assert "[one] streamed-one" in up.stderr
    assert "nobody\n/workspaces/proj" in up.stderr

    log = hooks_log(podbay, "proj")
    assert log[:3] == ["onCreate", "updateContent", log[2]]
    assert sorted(log[2:4]) == ["postCreate-one", "postCreate-two"]
    assert log[4:] == ["postStart"]

    # exec: remote user, workspace folder, remoteEnv, the bind-mounted source.
    shown = podbay.ok(
        "exec", "proj", "--", "sh", "-c", 'id -un; pwd; echo "$FROM_CONTAINER"; cat hello.txt'
    )
    assert shown.stdout.splitlines() == [
        "nobody",
        "/workspaces/proj",
        "hello-there",
        "from the host",
    ]
    assert "DROPPED" not in podbay.ok("exec", "proj", "--", "env").stdout

    [row] = podbay.json("list")
    assert (row["name"], row["status"], row["source"]) == ("proj", "Running", str(proj))

    # Interop labels for VS Code's Dev Containers extension.
    container = docker.from_env().containers.get(row["containerId"])
    labels = container.labels
    assert labels["devcontainer.local_folder"] == str(proj)
    assert labels["devcontainer.config_file"] == str(proj / ".devcontainer/devcontainer.json")
    assert json.loads(labels["devcontainer.metadata"])[0]["remoteUser"] == "nobody"

    # Up again while running: nothing reruns.
    podbay.ok("up", "proj")
    assert len(hooks_log(podbay, "proj")) == 5

    podbay.ok("stop", "proj")
    assert podbay.status("proj")["status"] == "Stopped"
    podbay.ok("start", "proj")
    assert podbay.status("proj")["status"] == "Running"
    # postStart again; the once-hooks not.
    log = hooks_log(podbay, "proj")
    assert log.count("postStart") == 2 and log.count("onCreate") == 1

    # delete removes the container and the state, never the user's folder.
    podbay.ok("delete", "proj", "--yes")
    assert podbay.json("list") == []
    assert not docker.from_env().containers.list(all=True, filters={"id": row["containerId"]})
    assert (proj / "hello.txt").read_text() == "from the host\n"
    assert (proj / ".devcontainer" / "devcontainer.json").exists()


def test_exec_passes_stdio_and_exit_code(podbay: Podbay) -> None:
    write_config(podbay.cwd / "io", {"image": IMAGE})
    podbay.ok("up", "io")
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    result = subprocess.run(
        [PODBAY, "exec", "io", "--", "sh", "-c", "cat; echo to-stderr >&2; exit 7"],
        input=payload,
        capture_output=True,
        env=podbay.env,
        check=False,
    )
    assert result.returncode == 7
    assert result.stdout == payload
    assert result.stderr == b"to-stderr\n"


def test_container_removed_behind_our_back_shows_not_found_and_up_recreates(
    podbay: Podbay,
) -> None:
    write_config(podbay.cwd / "gone", {"image": IMAGE, "onCreateCommand": "touch /tmp/made"})
    podbay.ok("up", "gone")
    container_id = podbay.status("gone")["containerId"]
    docker.from_env().api.remove_container(container_id, force=True)
    assert podbay.status("gone")["status"] == "NotFound"
    podbay.ok("up", "gone")
    assert podbay.status("gone")["status"] == "Running"
    # A new container gets its once-hooks again.
    podbay.ok("exec", "gone", "--", "test", "-f", "/tmp/made")


def test_changed_config_is_noticed_and_rebuild_applies_it(podbay: Podbay) -> None:
    proj = podbay.cwd / "drift"
    write_config(proj, {"image": IMAGE, "containerEnv": {"V": "1"}})
    podbay.ok("up", "drift")
    assert podbay.status("drift")["changed"] == []
    write_config(proj, {"image": IMAGE, "containerEnv": {"V": "2"}})
    assert podbay.status("drift")["changed"] == ["containerEnv"]
    shown = podbay.ok("status", "drift").stdout
    assert "changed since the container was made (containerEnv); podbay up drift --rebuild" in shown
    again = podbay.ok("up", "drift")
    assert "config changed since this container was made (containerEnv)" in again.stderr
    assert "podbay up drift --rebuild" in again.stderr
    assert podbay.ok("exec", "drift", "--", "printenv", "V").stdout == "1\n"
    podbay.ok("up", "drift", "--rebuild")
    assert podbay.ok("exec", "drift", "--", "printenv", "V").stdout == "2\n"
    assert podbay.status("drift")["changed"] == []


def test_logs_show_operations_and_follow_new_ones(podbay: Podbay) -> None:
    write_config(podbay.cwd / "logged", {"image": IMAGE, "postStartCommand": "echo started-$$"})
    podbay.ok("up", "logged")
    logs = podbay.ok("logs", "logged").stdout
    assert "==> running postStartCommand" in logs and "started-" in logs

    follower = podbay.popen("logs", "logged", "--follow")
    try:
        assert follower.stdout is not None
        seen = 0
        while "workspace logged is ready" not in follower.stdout.readline():
            seen += 1  # skip the existing log
        podbay.ok("stop", "logged")
        podbay.ok("start", "logged")
        lines = []
        while "workspace logged is ready" not in (line := follower.stdout.readline()):
            lines.append(line)
        assert any("stopping the container" in line for line in lines)
        # Each operation under a header with its local time and the front that ran it.
        headers = [line for line in lines if oplog.is_header(line.rstrip("\n"))]
        assert [re.sub(r"^--- \d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", "", h) for h in headers] == [
            "stop (from the CLI) ---\n",
            "up (from the CLI) ---\n",
        ]
        assert any("running postStartCommand" in line for line in lines)
    finally:
        follower.kill()
        follower.wait()


def test_user_env_probe_reads_the_login_shell_once_per_container_start(podbay: Podbay) -> None:
    proj = podbay.cwd / "probed"
    write_config(
        proj,
        {
            "image": IMAGE,
            "remoteUser": "root",
            "userEnvProbe": "loginInteractiveShell",
            "postCreateCommand": "echo 'export FROM_RC=rc-value' >> /root/.bashrc",
        },
    )
    podbay.ok("up", "probed")
    # The hook changed .bashrc after the probe ran; `up` of the running container reuses it.
    podbay.ok("up", "probed")
    shown = podbay.ok("exec", "probed", "--", "sh", "-c", 'echo "[$FROM_RC]"')
    assert shown.stdout == "[]\n"
    # A new start of the container probes again and sees it.
    podbay.ok("stop", "probed")
    podbay.ok("up", "probed")
    shown = podbay.ok("exec", "probed", "--", "sh", "-c", 'echo "[$FROM_RC]"')
    assert shown.stdout == "[rc-value]\n"


def test_host_requirements_larger_than_the_machine_warn_and_go_on(podbay: Podbay) -> None:
    write_config(
        podbay.cwd / "big", {"image": IMAGE, "hostRequirements": {"cpus": 4096, "memory": "64tb"}}
    )
    up = podbay.ok("up", "big")
    assert "hostRequirements asks for 4096 CPUs; this machine has" in up.stderr
    assert "hostRequirements asks for 65536 GB of memory" in up.stderr
    assert podbay.status("big")["status"] == "Running"


def test_logs_show_podbays_operations_and_the_containers_own_output(podbay: Podbay) -> None:
    write_config(podbay.cwd / "talk", {"image": IMAGE, "userEnvProbe": "none"})
    podbay.ok("up", "talk")
    assert "==> workspace talk is ready" in podbay.ok("logs", "talk").stdout
    # The container's own output, through the docker CLI where the container is (also the
    # path a VM workspace takes, through podbay's relay).
    assert "Container started" in podbay.ok("logs", "talk", "--container").stdout


@pytest.mark.parametrize("image", [IMAGE, BUSYBOX])
def test_the_first_hook_of_a_new_container_runs_as_a_hook_exec_would(
    podbay: Podbay, image: str
) -> None:
    """For root, the SSH setup's exec becomes the first hook (an exec less): the hook gets the
    same environment, folder, umask and open files as a hook given an exec of its own, with
    dash and with busybox's sh."""
    show = (
        "cat /proc/$$/environ > /tmp/{0}-env; umask > /tmp/{0}-umask; pwd > /tmp/{0}-pwd;"
        # An fd the shell opened for a moment (gone by the readlink) is not one the hook got.
        " for f in $(ls /proc/$$/fd); do l=$(readlink /proc/$$/fd/$f | cut -d[ -f1);"
        ' [ -z "$l" ] || echo $f $l; done > /tmp/{0}-fds;'
        " echo {0} said this"
    )
    odd = 'it\'s \\ "q" $HOME `x`\n5 lines %s \\012 \\0012'  # a newline before a digit
    write_config(
        podbay.cwd / "same",
        {
            "image": image,
            "remoteUser": "root",
            # Names the setup script uses for its own variables.
            "containerEnv": {"FROM_CONTAINER": "c v", "user": "u", "name": "n"},
            "remoteEnv": {"ODD": odd},
            "postCreateCommand": show.format("first"),
            "postStartCommand": show.format("second"),
        },
    )
    since = int(time.time())
    up = podbay.ok("up", "same")
    assert "first said this" in up.stderr and "second said this" in up.stderr
    # It was the setup's exec: two execs in all (the setup with the first hook, the second
    # hook), where each hook with an exec of its own would make three. (Counted before any
    # `podbay exec` below; the events are read until the next second.)
    container = podbay.status("same")["containerId"]
    events = docker.from_env().events(
        since=since, until=int(time.time()) + 1, decode=True,
        filters={"type": "container", "event": "exec_create", "container": container},
    )  # fmt: skip
    assert len(list(events)) == 2

    def read(name: str) -> str:
        return podbay.ok("exec", "same", "--", "cat", f"/tmp/{name}").stdout

    def environ(which: str) -> set[str]:
        # Each hook carries a mark of its own, by which a cancel finds its processes.
        found = set(read(f"{which}-env").split("\0"))
        marks = {v for v in found if v.startswith("PODBAY_HOOK=")}
        assert len(marks) == 1 and len(marks.pop()) == len("PODBAY_HOOK=") + 24
        return {v for v in found if not v.startswith("PODBAY_HOOK=")}

    first, second = environ("first"), environ("second")
    assert first == second
    assert f"ODD={odd}" in first and {"FROM_CONTAINER=c v", "user=u", "name=n"} <= first
    for part in ("umask", "pwd", "fds"):
        assert read(f"first-{part}").replace("first", "") == read(f"second-{part}").replace(
            "second", ""
        ), part
    assert read("first-pwd") == "/workspaces/same\n"


def test_a_first_hook_that_fails_says_its_exit_code_and_output(podbay: Podbay) -> None:
    write_config(
        podbay.cwd / "fails",
        {"image": IMAGE, "remoteUser": "root",
         "onCreateCommand": ["sh", "-c", "echo boom >&2; exit 7"]},
    )  # fmt: skip
    result = podbay("up", "fails")
    assert result.returncode != 0
    assert "onCreateCommand failed with exit code 7" in result.stderr
    assert "boom" in result.stderr


def test_a_workspace_made_before_folders_kept_their_name_keeps_its_folder(
    podbay: Podbay,
) -> None:
    """An older record (mounted at /workspaces/NAME) is not moved by `up`; a rebuild moves it
    to the folder's own name and says so."""
    write_config(podbay.cwd / "My_App", {"image": IMAGE})
    podbay.ok("up", "My_App")
    assert podbay.ok("exec", "my-app", "--", "pwd").stdout == "/workspaces/My_App\n"
    store = Store(podbay.home)
    ws = store.workspace("my-app")
    assert (ws.folder_name, ws.folder_rel) == ("My_App", "")
    ws.folder_name = None  # as an older podbay recorded it
    store.save_workspace(ws)
    subprocess.run(["docker", "rm", "-f", ws.container_name], check=True, capture_output=True)
    podbay.ok("up", "my-app")  # its container made again, as that podbay made it
    assert podbay.ok("exec", "my-app", "--", "pwd").stdout == "/workspaces/my-app\n"
    podbay.ok("stop", "my-app")
    up = podbay.ok("up", "my-app")
    assert "mounted at" not in up.stderr
    assert podbay.ok("exec", "my-app", "--", "pwd").stdout == "/workspaces/my-app\n"

    # A rebuild that fails leaves the old container and its folder as they were.
    write_config(podbay.cwd / "My_App", {"image": "podbay-test/not-there:1"})
    assert podbay("up", "my-app", "--rebuild").returncode == 1
    assert store.workspace("my-app").folder_name is None
    write_config(podbay.cwd / "My_App", {"image": IMAGE})
    podbay.ok("up", "my-app")
    assert podbay.ok("exec", "my-app", "--", "pwd").stdout == "/workspaces/my-app\n"

    up = podbay.ok("up", "my-app", "--rebuild")
    assert (
        "==> the workspace folder is now /workspaces/My_App (was /workspaces/my-app): the "
        "folder's own name, as other devcontainer tools mount it"
    ) in up.stderr
    assert podbay.ok("exec", "my-app", "--", "pwd").stdout == "/workspaces/My_App\n"
    assert store.workspace("my-app").folder_name == "My_App"
