"""Prebuilds in an AWS provider's ECR (moto in-process for the ECR API; ECR's registry itself
is not served by moto, so the push is to the local registry, answered for with the provider's
login as an ECR registry of its account would be)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from podbay import providers
from podbay.core.engine import Engine
from podbay.core.errors import PodbayError
from podbay.core.model import ProviderConfig
from podbay.core.store import Store
from podbay.providers.aws import ecr
from tests.conftest import BUSYBOX, write_config
from tests.registries import PASSWORD, USER, start_registry

MINE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"  # moto's account


@pytest.fixture
def engine(aws: None, tmp_path: Path) -> Engine:
    engine = Engine(Store(tmp_path / "home"), providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "eu-west-1"}))
    return engine


def test_create_repository_makes_it_scanned_on_push_with_a_lifecycle(engine: Engine) -> None:
    owner = asyncio.run(engine._repository_owner(f"{MINE}/team/app", None, True))
    assert owner == "cloud"
    client = boto3.client("ecr", region_name="eu-west-1")
    [repo] = client.describe_repositories(repositoryNames=["team/app"])["repositories"]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    policy = json.loads(
        client.get_lifecycle_policy(repositoryName="team/app")["lifecyclePolicyText"]
    )
    assert policy == ecr.LIFECYCLE
    # Made once: the second time it is found.
    assert asyncio.run(engine._repository_owner(f"{MINE}/team/app", "cloud", True)) == "cloud"


def test_a_missing_repository_without_create_is_one_line_with_the_flag(engine: Engine) -> None:
    with pytest.raises(PodbayError) as info:
        asyncio.run(engine._repository_owner(f"{MINE}/team/nope", None, False))
    assert (
        info.value.message == "ECR has no repository team/nope in eu-west-1 (account 123456789012)"
    )
    assert "--create-repository" in info.value.hint


def test_another_accounts_registry_is_not_the_providers(engine: Engine) -> None:
    other = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/app"
    assert asyncio.run(engine._repository_owner(other, None, False)) == ""
    with pytest.raises(PodbayError) as info:
        asyncio.run(engine.prebuild(".", other, create_repository=True))
    assert "is not an ECR repository of an AWS provider here" in info.value.message


def test_the_stand_in_refuses_a_lifecycle_policy_ecr_refuses(aws: None) -> None:
    """moto keeps any JSON as a lifecycle policy; ECR refuses a tagged rule naming no tags."""
    client = boto3.client("ecr", region_name="eu-west-1")
    client.create_repository(repositoryName="team/app")
    rule: dict[str, Any] = ecr.LIFECYCLE["rules"][1]
    selection = {k: v for k, v in rule["selection"].items() if k != "tagPrefixList"}
    bad = {"rules": [{**rule, "selection": selection}]}
    with pytest.raises(ClientError) as refused:
        client.put_lifecycle_policy(repositoryName="team/app", lifecyclePolicyText=json.dumps(bad))
    assert "tagPrefixList" in str(refused.value)


def test_the_push_goes_with_the_providers_login(
    engine: Engine,
    needs_docker: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registry the provider answers for (as for its account's ECR) is pushed to with the
    provider's login, where this computer has no docker login at all."""
    from podbay.providers.aws.provider import AwsProvider

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-login"))
    with start_registry(tmp_path / "registry", basic_auth=True) as registry:

        async def owns(self: AwsProvider, repository: str, create: bool) -> bool:
            return repository.startswith(registry.address + "/")

        async def login(self: AwsProvider, name: str) -> tuple[str, str] | None:
            return (USER, PASSWORD) if name == registry.address else None

        monkeypatch.setattr(AwsProvider, "ensure_repository", owns)
        monkeypatch.setattr(AwsProvider, "registry_login", login)
        project = tmp_path / "project"
        write_config(project, {"image": BUSYBOX})
        pushed = asyncio.run(engine.prebuild(str(project), f"{registry.address}/team/app"))
        try:
            assert pushed.image.startswith(f"{registry.address}/team/app:podbay-")
            [listed] = asyncio.run(engine.prebuilds(f"{registry.address}/team/app"))
            assert listed.image == pushed.image and listed.source == str(project)
        finally:
            subprocess.run(["docker", "rmi", "-f", pushed.image], capture_output=True)
