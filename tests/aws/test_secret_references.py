"""Secret references and registry logins with an AWS provider's credentials (moto in-process):
Parameter Store (decrypted) and Secrets Manager, a missing one named with the region; ECR
tokens for the account's own registries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import boto3
import pytest

from podbay import providers
from podbay.core import secrets_store
from podbay.core.engine import Engine
from podbay.core.errors import PodbayError
from podbay.core.model import ProviderConfig
from podbay.core.store import Store


@pytest.fixture
def engine(aws: None, tmp_path: Path) -> Engine:
    engine = Engine(Store(tmp_path / "home"), providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "eu-west-1"}))
    ssm = boto3.client("ssm", region_name="eu-west-1")
    ssm.put_parameter(Name="/team/db", Value="from-ssm", Type="SecureString")
    manager = boto3.client("secretsmanager", region_name="eu-west-1")
    manager.create_secret(Name="team/api", SecretString="from-secrets-manager")
    return engine


def test_references_are_read_when_used_and_a_workspaces_own_wins(engine: Engine) -> None:
    store = engine.store
    secrets_store.set_reference(store, "DB", "", "ssm:/team/db", "")
    secrets_store.set_reference(store, "API", "", "secretsmanager:team/api", "cloud")
    secrets_store.set_reference(store, "DB", "app", "secretsmanager:team/api", "")
    assert asyncio.run(engine.secret_values("other")) == {
        "API": "from-secrets-manager",
        "DB": "from-ssm",
    }
    assert asyncio.run(engine.secret_values("app"))["DB"] == "from-secrets-manager"
    assert "from-ssm" not in (store.get_meta(secrets_store.INDEX) or "")


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("ssm:/team/nope", "Parameter Store has no /team/nope in region eu-west-1"),
        ("secretsmanager:team/nope", "Secrets Manager has no team/nope in region eu-west-1"),
    ],
)
def test_a_missing_reference_names_itself_and_the_region(
    engine: Engine, reference: str, words: str
) -> None:
    secrets_store.set_reference(engine.store, "GONE", "", reference, "")
    with pytest.raises(PodbayError) as info:
        asyncio.run(engine.secret_values("app"))
    assert words in info.value.message
    assert "podbay provider set cloud -o region=" in info.value.hint


def test_an_ecr_registry_of_the_account_gets_a_token_and_others_nothing(engine: Engine) -> None:
    """ecr:GetAuthorizationToken for the account's registry in the registry's own region."""
    provider = engine.provider("cloud")
    mine = "123456789012.dkr.ecr.us-west-2.amazonaws.com"  # moto's account
    login = asyncio.run(provider.registry_login(mine))
    assert login is not None and login[0] == "AWS" and login[1]
    assert (
        asyncio.run(provider.registry_login("210987654321.dkr.ecr.us-west-2.amazonaws.com")) is None
    )
    assert asyncio.run(provider.registry_login("registry.example.org")) is None
