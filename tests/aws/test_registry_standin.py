"""A private FROM line built on an AWS workspace's own machine (moto in-process, a stand-in
instance): the machine's docker CLI gets this computer's docker login through podbay's
connection for the build only, and keeps nothing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from podbay import providers
from podbay.core.engine import Engine, UpRequest
from podbay.core.errors import PodbayError
from podbay.core.model import ProviderConfig
from podbay.core.store import Store
from tests.aws import standin
from tests.conftest import BUSYBOX, write_config
from tests.registries import PASSWORD, USER, start_registry


def test_a_private_base_image_builds_on_the_machine_with_the_login_lent(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logged_in = tmp_path / "docker-login"
    logged_in.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-login"))
    with start_registry(tmp_path / "registry", token_auth=True) as registry:
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (logged_in / "config.json").write_text(
            json.dumps({"auths": {registry.address: {"auth": auth}}})
        )
        base = f"{registry.address}/podbay/base:1"
        subprocess.run(["docker", "tag", BUSYBOX, base], check=True)
        subprocess.run(
            ["docker", "--config", str(logged_in), "push", base], check=True, capture_output=True
        )
        subprocess.run(["docker", "rmi", base], check=True, capture_output=True)
        project = tmp_path / "project"
        (project / ".devcontainer").mkdir(parents=True)
        (project / ".devcontainer" / "Dockerfile").write_text(
            f"FROM {base}\nRUN echo built > /built\n"
        )
        write_config(project, {"build": {"dockerfile": "Dockerfile"}})
        home = tmp_path / "home"
        store = Store(home)
        engine = Engine(store, providers.load)
        engine.providers.save(
            ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"})
        )
        try:
            # Without a login here, the machine has none either.
            with pytest.raises(PodbayError) as refused:
                asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
            assert "building the Dockerfile" in refused.value.message, refused.value.message
            assert registry.token is not None
            registry.token.requests.clear()  # (the push above asked for tokens too)
            monkeypatch.setenv("DOCKER_CONFIG", str(logged_in))
            engine = Engine(store, providers.load)
            asyncio.run(engine.up(UpRequest(name="project")))
            ws = store.workspace("project")
            built = subprocess.run(
                ["docker", "exec", str(ws.container_id), "cat", "/built"],
                capture_output=True, text=True,
            )  # fmt: skip
            assert built.stdout == "built\n"
            assert USER in [r["user"] for r in registry.token.requests]
            [machine] = [standin.PREFIX + i for i in standin.standins(store.install_id())]
            scan = subprocess.run(
                ["docker", "exec", machine, "grep", "-rIlF", "--exclude-dir=proc",
                 "--exclude-dir=sys", "--exclude-dir=dev", PASSWORD, "/"],
                capture_output=True, text=True,
            )  # fmt: skip
            assert scan.stdout == "", scan.stdout
            leftovers = subprocess.run(
                ["docker", "exec", machine, "sh", "-c", "ls -d /tmp/podbay-docker.* 2>/dev/null"],
                capture_output=True, text=True,
            )  # fmt: skip
            assert leftovers.stdout == ""
        finally:
            asyncio.run(engine.delete("project"))
            standin.remove_all(store.install_id())
            subprocess.run(["docker", "rmi", "-f", base], capture_output=True)


def test_a_private_image_is_pulled_for_the_machine_with_the_providers_login(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An `image:` of a registry this computer has no login for, which the provider answers
    for (as for an ECR registry of its account: ecr:GetAuthorizationToken, tested with moto
    in tests/aws/test_secret_references.py), is pulled with the provider's login."""
    from podbay.providers.aws.provider import AwsProvider

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-login"))
    with start_registry(tmp_path / "registry", token_auth=True) as registry:
        logged_in = tmp_path / "push-login"
        logged_in.mkdir()
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (logged_in / "config.json").write_text(
            json.dumps({"auths": {registry.address: {"auth": auth}}})
        )
        image = f"{registry.address}/podbay/private:1"
        subprocess.run(["docker", "tag", BUSYBOX, image], check=True)
        subprocess.run(
            ["docker", "--config", str(logged_in), "push", image], check=True, capture_output=True
        )
        subprocess.run(["docker", "rmi", image], check=True, capture_output=True)
        asked: list[str] = []

        async def login(self: AwsProvider, name: str) -> tuple[str, str] | None:
            asked.append(name)
            return (USER, PASSWORD) if name == registry.address else None

        monkeypatch.setattr(AwsProvider, "registry_login", login)
        project = tmp_path / "project"
        write_config(project, {"image": image})
        store = Store(tmp_path / "home")
        engine = Engine(store, providers.load)
        engine.providers.save(
            ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"})
        )
        try:
            ws = asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
            assert ws.phase == "ready" and asked == [registry.address]
            assert registry.token is not None
            assert USER in [r["user"] for r in registry.token.requests]
        finally:
            with contextlib.suppress(Exception):
                asyncio.run(engine.delete("project"))
            standin.remove_all(store.install_id())
            subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


def test_the_machine_pulls_the_prebuild_itself_with_the_providers_login(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A project whose config names its prebuilds comes up on a VM from the prebuild, pulled
    by the VM's Docker with the provider's login (as from its account's ECR), not built."""
    from podbay.providers.aws.provider import AwsProvider
    from tests.docker.test_prebuild import stamp_of_image, stamp_project

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-login"))
    with start_registry(tmp_path / "registry", basic_auth=True) as registry:
        repo = f"{registry.address}/team/app"

        async def owns(self: AwsProvider, repository: str, create: bool) -> bool:
            return repository.startswith(registry.address + "/")

        async def login(self: AwsProvider, name: str) -> tuple[str, str] | None:
            return (USER, PASSWORD) if name == registry.address else None

        monkeypatch.setattr(AwsProvider, "ensure_repository", owns)
        monkeypatch.setattr(AwsProvider, "registry_login", login)
        store = Store(tmp_path / "home")
        engine = Engine(store, providers.load)
        engine.providers.save(
            ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"})
        )
        project = stamp_project(tmp_path / "app")
        pushed = asyncio.run(engine.prebuild(str(project), repo))
        stamp = stamp_of_image(pushed.image)
        subprocess.run(["docker", "rmi", "-f", pushed.image], check=True, capture_output=True)
        config = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
        write_config(project, {**config, "customizations": {"podbay": {"prebuild": repo}}})
        said: list[str] = []
        try:
            ws = asyncio.run(
                engine.up(
                    UpRequest(source=str(project), provider="cloud"),
                    lambda event: said.append(event.message),
                )
            )
            assert f"using the prebuild {pushed.image} (built from {project})" in said
            assert not [line for line in said if line.startswith("installing features")]
            inside = subprocess.run(
                ["docker", "exec", str(ws.container_id), "cat", "/stamp"],
                capture_output=True, text=True,
            )  # fmt: skip
            assert inside.stdout.strip() == stamp
        finally:
            with contextlib.suppress(Exception):
                asyncio.run(engine.delete("app"))
            standin.remove_all(store.install_id())
            subprocess.run(["docker", "rmi", "-f", pushed.image], capture_output=True)
