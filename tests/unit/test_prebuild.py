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


class _Engine:
    """An engine with no image of the prebuild, on x86_64."""

    def info(self) -> dict[str, str]:
        return {"Architecture": "x86_64"}

    def inspect_image(self, image: str) -> None:
        self.asked = image


def test_the_tag_names_the_engines_architecture() -> None:
    assert prebuild.tag("0123456789abcdef", "arm64") == "podbay-0123456789abcdef-arm64"
    assert prebuild.image_tag_ok("podbay-0123456789abcdef-amd64")
    assert not prebuild.image_tag_ok("podbay-0123456789abcdef")  # (made before: another format)
    assert prebuild.engine_arch(_Engine()) == "amd64"  # type: ignore[arg-type]


def test_a_login_that_fails_means_building_not_an_error(tmp_path: Any) -> None:
    """Looking for a prebuild never stops `up`: a provider whose ECR login fails is said in
    one line and the image is built."""
    import asyncio

    from podbay.core.errors import PodbayError
    from podbay.core.model import Event
    from podbay.core.reporter import Reporter

    said: list[Event] = []
    engine = _Engine()

    async def login(registry: str) -> tuple[str, str] | None:
        raise PodbayError("the AWS credentials have expired", "aws sso login")

    resolved = dcplan.resolve(BASE, CTX)
    report = Reporter(tmp_path, "app", said.append)
    found = asyncio.run(
        prebuild.find(engine, "127.0.0.1:5000/team/app", resolved, report, login)  # type: ignore[arg-type]
    )
    assert found is None
    assert engine.asked.endswith(f":podbay-{prebuild.fingerprint(resolved)}-amd64")
    [warning] = [e.message for e in said if e.kind == "warning"]
    assert warning == (
        "prebuilds in 127.0.0.1:5000/team/app cannot be looked at: the AWS credentials have "
        "expired; building"
    )
