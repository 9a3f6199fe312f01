"""Prebuilds against a real registry: Debian's docker-registry on 127.0.0.1 with basic auth.

One person makes the prebuild and pushes it; another, with their own podbay home and docker
login, brings the project up and gets the very image that was pushed (a value its feature drew
at random when it was built), without building; a changed config never gets it."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BUSYBOX, Podbay, _remove_containers, write_config
from tests.registries import PASSWORD, USER, Registry, start_registry, write_feature


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with start_registry(tmp_path_factory.mktemp("registry"), basic_auth=True) as found:
        yield found


def _login(folder: Path, registry: Registry | None) -> dict[str, str]:
    """A DOCKER_CONFIG of its own, logged in to `registry` (or to nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    auths = {}
    if registry is not None:
        auths[registry.address] = {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    (folder / "config.json").write_text(json.dumps({"auths": auths}))
    return {"DOCKER_CONFIG": str(folder)}


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Podbay]:
    """Someone else: another podbay home on the same Docker."""
    home = Path(tempfile.mkdtemp(prefix="pbo-")) / "home"
    work = tmp_path / "other-work"
    work.mkdir()
    yield Podbay(home, work)
    _remove_containers(home)
    shutil.rmtree(home.parent, ignore_errors=True)


def stamp_project(folder: Path, marker: str = "one") -> Path:
    """A busybox project with a local feature that records a random value when installed."""
    write_feature(
        folder / ".devcontainer" / "stamp",
        {
            "id": "stamp",
            "version": "1.0.0",
            "options": {"word": {"type": "string", "default": "x"}},
        },
        f"echo {marker}-$(cat /proc/sys/kernel/random/uuid) > /stamp\n",
    )
    write_config(folder, {"image": BUSYBOX, "features": {"./stamp": {}}})
    return folder


def _pushed(result: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"pushed (\S+:podbay-[0-9a-f]{16}-[a-z0-9]+) ", result.stdout)
    assert found, result.stdout + result.stderr
    return found.group(1)


def stamp_of_image(image: str) -> str:
    done = subprocess.run(
        ["docker", "run", "--rm", image, "cat", "/stamp"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _forget(image: str) -> None:
    subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


def test_up_pulls_the_prebuild_of_its_config_and_builds_nothing(
    podbay: Podbay, other: Podbay, registry: Registry, tmp_path: Path
) -> None:
    project = stamp_project(podbay.cwd / "app")
    repo = f"{registry.address}/team/app"
    made = podbay.ok("prebuild", "app", "--push", repo, env=_login(tmp_path / "a", registry))
    image = _pushed(made)
    assert "installing features: stamp" in made.stderr
    stamp = stamp_of_image(image)
    _forget(image)  # the other person's Docker has none of it

    # The project names its prebuilds itself; the other person only brings it up.
    config = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    config["customizations"] = {"podbay": {"prebuild": repo}}
    write_config(project, config)
    up = other.ok("up", str(project), env=_login(tmp_path / "b", registry))
    assert f"using the prebuild {image}" in up.stderr
    assert "installing features" not in up.stderr
    assert other.ok("exec", "app", "--", "cat", "/stamp").stdout.strip() == stamp

    listed = other.json("prebuild", "--list", repo, env=_login(tmp_path / "b", registry))
    [entry] = listed["prebuilds"]
    assert entry["image"] == image and entry["source"] == str(project) and entry["size"] > 0


def test_a_changed_config_never_gets_the_stale_prebuild(
    podbay: Podbay, registry: Registry, tmp_path: Path
) -> None:
    project = stamp_project(podbay.cwd / "app")
    repo = f"{registry.address}/team/stale"
    login = _login(tmp_path / "a", registry)
    image = _pushed(podbay.ok("prebuild", "app", "--push", repo, env=login))
    _forget(image)
    # One option of the feature changes: another image, so another fingerprint.
    write_config(project, {"image": BUSYBOX, "features": {"./stamp": {"word": "y"}}})
    up = podbay.ok("up", "app", "--prebuild", repo, env=login)
    assert re.search(
        rf"no prebuild of this config in {re.escape(repo)} \(fingerprint \w+\)", up.stderr
    )
    assert "installing features: stamp" in up.stderr
    assert podbay.ok("exec", "app", "--", "cat", "/stamp").stdout.startswith("one-")


def test_an_image_whose_label_is_not_the_tags_fingerprint_is_not_used(
    podbay: Podbay, other: Podbay, registry: Registry, tmp_path: Path
) -> None:
    project = stamp_project(podbay.cwd / "app")
    repo = f"{registry.address}/team/forged"
    login = _login(tmp_path / "a", registry)
    image = _pushed(podbay.ok("prebuild", "app", "--push", repo, env=login))
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nLABEL dev.podbay.prebuild=0000000000000000\nRUN echo forged > /stamp\n"
    )
    subprocess.run(
        ["docker", "build", "-q", "-t", image, str(forged)], check=True, capture_output=True
    )
    subprocess.run(
        ["docker", "--config", login["DOCKER_CONFIG"], "push", image],
        check=True,
        capture_output=True,
    )
    _forget(image)
    up = other.ok("up", str(project), "--prebuild", repo, env=_login(tmp_path / "b", registry))
    assert f"{image} is not a prebuild of this config" in up.stderr
    assert other.ok("exec", "app", "--", "cat", "/stamp").stdout.startswith("one-")


def test_a_registry_that_cannot_be_asked_means_building_here(podbay: Podbay) -> None:
    stamp_project(podbay.cwd / "app")
    closed = "127.0.0.1:9/team/app"  # the discard port: nothing listens
    up = podbay.ok("up", "app", "--prebuild", closed)
    assert f"prebuilds in {closed} cannot be looked at" in up.stderr
    assert podbay.ok("exec", "app", "--", "cat", "/stamp").stdout.startswith("one-")


def test_a_push_the_registry_refuses_is_one_line_with_a_hint(
    podbay: Podbay, registry: Registry, tmp_path: Path
) -> None:
    stamp_project(podbay.cwd / "app")
    repo = f"{registry.address}/team/refused"
    result = podbay("prebuild", "app", "--push", repo, env=_login(tmp_path / "none", None))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith(f"podbay: error: the registry refused the push of {repo}:")
    assert lines[-1].startswith(f"hint: log in with: docker login {registry.address} ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("team/app", "names no registry"),
        ("127.0.0.1:5000/team/app:v1", "names a tag or digest"),
        ("127.0.0.1:5000/Team/App", "is not a repository name"),
    ],
)
def test_a_bad_repository_is_refused_before_anything_runs(
    podbay: Podbay, value: str, said: str
) -> None:
    stamp_project(podbay.cwd / "app")
    for args in (["prebuild", "app", "--push", value], ["up", "app", "--prebuild", value]):
        result = podbay(*args)
        assert result.returncode == 1, result.stderr
        assert said in result.stderr and "hint:" in result.stderr
    assert podbay.json("list") == []  # nothing recorded
