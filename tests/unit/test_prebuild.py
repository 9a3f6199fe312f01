"""A prebuild's fingerprint: what shapes the image changes it, nothing else does; and the
repository a prebuild goes to is checked where it enters."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.core import prebuild
from podbay.core.devcontainer import plan as dcplan
from podbay.core.errors import ConfigError
from tests.unit.test_plan import CTX

BASE: dict[str, Any] = {
    "image": "debian:bookworm",
    "features": {"./stamp": {"word": "x"}},
    "remoteUser": "dev",
}


def _fp(config: dict[str, Any], files: dict[str, str] | None = None) -> str:
    resolved = dcplan.resolve(config, CTX)
    resolved.fingerprint.update(files or {})
    return prebuild.fingerprint(resolved)


@pytest.mark.parametrize(
    "change",
    [
        {"image": "debian:trixie"},
        {"features": {"./stamp": {"word": "y"}}},
        {"remoteUser": "root"},
        {"overrideFeatureInstallOrder": ["./stamp"]},
        {"build": {"dockerfile": "Dockerfile"}},
    ],
)
def test_what_shapes_the_image_changes_the_fingerprint(change: dict[str, Any]) -> None:
    assert _fp({**BASE, **change}) != _fp(BASE)


@pytest.mark.parametrize(
    "change",
    [
        {"forwardPorts": [3000]},
        {"postCreateCommand": "make"},
        {"customizations": {"podbay": {"prebuild": "127.0.0.1:5000/a/b"}}},
        {"containerEnv": {"A": "1"}},
        {"updateRemoteUserUID": False},
    ],
)
def test_what_each_up_adds_leaves_it_alone(change: dict[str, Any]) -> None:
    assert _fp({**BASE, **change}) == _fp(BASE)


def test_the_files_it_names_are_part_of_it() -> None:
    plain = _fp(BASE)
    assert _fp(BASE, {"feature ./stamp": "a1"}) != plain
    assert _fp(BASE, {"feature ./stamp": "a1"}) != _fp(BASE, {"feature ./stamp": "b2"})
    assert _fp(BASE, {"devcontainer-lock.json": "c3"}) != plain
    assert _fp(BASE, {"compose docker-compose.yml": "d4"}) == plain


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("team/app", "names no registry"),
        ("127.0.0.1:5000/team/app:v1", "names a tag or digest"),
        ("127.0.0.1:5000/team/app@sha256:" + "0" * 64, "names a tag or digest"),
        ("127.0.0.1:5000/Team", "is not a repository name"),
        ("127.0.0.1:5000/team/app\nHost *", "is not a repository name"),
    ],
)
def test_a_bad_repository_is_one_line_with_a_hint(value: str, said: str) -> None:
    with pytest.raises(ConfigError) as info:
        prebuild.check_repository(value)
    assert said in info.value.message and "\n" not in info.value.message
    assert info.value.hint


def test_the_config_may_name_its_repository() -> None:
    resolved = dcplan.resolve(
        {**BASE, "customizations": {"podbay": {"prebuild": "127.0.0.1:5000/a/b"}}}, CTX
    )
    assert prebuild.repository_of(resolved, None) == "127.0.0.1:5000/a/b"
    assert prebuild.repository_of(resolved, "127.0.0.1:5000/c") == "127.0.0.1:5000/c"
    assert prebuild.repository_of(dcplan.resolve(BASE, CTX), None) is None
