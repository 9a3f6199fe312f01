"""A room of workspaces on the local Docker provider: 20 from one prebuild, with a table of
their names, states and ssh hosts; `delete --prefix` removes exactly the room."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import BUSYBOX, Podbay, write_config
from tests.docker.test_prebuild import _login, _pushed, registry, stamp_of_image, stamp_project
from tests.registries import Registry

__all__ = ["registry"]  # the module-scoped registry fixture, shared


def test_a_room_of_20_from_one_prebuild_then_delete_by_prefix(
    podbay: Podbay, registry: Registry, tmp_path: Path
) -> None:
    stamp_project(podbay.cwd / "class")
    login = _login(tmp_path / "login", registry)
    repo = f"{registry.address}/team/class"
    image = _pushed(podbay.ok("prebuild", "class", "--push", repo, env=login))
    stamp = stamp_of_image(image)
    subprocess.run(["docker", "rmi", "-f", image], check=True, capture_output=True)
    own = podbay.ok("up", "class", "--name", "ws-own", env=login)  # not of the room
    assert "installing features: stamp" in own.stderr

    made = podbay("up", "class", "--count", "20", "--prefix", "ws-", "--prebuild", repo, env=login)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.strip().splitlines()
    assert lines[0].split() == ["NAME", "STATE", "SSH", "TIME", "ERROR"]
    table = [line.split() for line in lines[1:]]
    assert [row[:3] for row in table] == [
        [f"ws-{i:02d}", "ready", f"ws-{i:02d}.podbay"] for i in range(1, 21)
    ]
    # The first pulled the prebuild for all; none built anything.
    assert made.stderr.count(f"using the prebuild {image}") == 1
    assert "installing features" not in made.stderr
    listed = {w["name"]: w for w in podbay.json("list")}
    assert all(listed[f"ws-{i:02d}"]["status"] == "Running" for i in range(1, 21))
    assert podbay.ok("exec", "ws-17", "--", "cat", "/stamp").stdout.strip() == stamp

    again = podbay("up", "class", "--count", "20", "--prefix", "ws-", "--json", env=login)
    assert again.returncode == 0, again.stderr
    assert [m["outcome"] for m in json.loads(again.stdout)["members"]] == ["success"] * 20

    gone = podbay("delete", "--prefix", "ws-", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert [line.split()[:2] for line in gone.stdout.strip().splitlines()[1:]] == [
        [f"ws-{i:02d}", "deleted"] for i in range(1, 21)
    ]
    assert [w["name"] for w in podbay.json("list")] == ["ws-own"]


def test_a_room_whose_first_workspace_fails_makes_no_more(podbay: Podbay) -> None:
    write_config(podbay.cwd / "broken", {"image": "podbay-test/no-such-image:1"})
    result = podbay("up", "broken", "--count", "5", "--prefix", "b-")
    assert result.returncode == 1
    assert (
        "podbay: error: the first workspace failed, so the other 4 were not made" in result.stderr
    )
    assert [w["name"] for w in podbay.json("list")] == ["b-01"]  # in Error, to inspect or retry


def test_room_input_is_checked_before_anything_is_made(podbay: Podbay) -> None:
    write_config(podbay.cwd / "app", {"image": BUSYBOX})
    podbay.ok("up", "app", "--name", "r-01")  # a workspace that is not of room r-
    for args, said in (
        (["--count", "0", "--prefix", "r-"], "--count 0 is not between 1 and 200"),
        (["--count", "3"], "--count and --prefix go together"),
        (["--count", "3", "--prefix", "R_"], "--prefix 'R_' does not make workspace names"),
        (["--count", "3", "--prefix", "r-"], "workspace 'r-01' exists and is not of room 'r-'"),
    ):
        result = podbay("up", "app", *args)
        assert result.returncode == 1, result.stderr
        assert said in result.stderr and "hint: " in result.stderr, result.stderr
    assert [w["name"] for w in podbay.json("list")] == ["r-01"]
    result = podbay("delete", "--prefix", "r-", "--yes")
    assert result.returncode == 1 and "no room 'r-' here" in result.stderr
