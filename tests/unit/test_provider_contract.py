"""The provider contract and the rules for providers, once, for both fronts: the first provider
is the default, a provider in use stays, removing the default picks the next; machine records
written before 0.2 read as they were meant; the fast path reads only Workspace fields."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

import pytest

from podbay import providers
from podbay.core.attach import AttachRecord, machine_ssh
from podbay.core.errors import PodbayError
from podbay.core.model import MachineRecord, ProviderConfig, Source, Workspace
from podbay.core.provider import Provider
from podbay.core.provider_admin import ProviderAdmin
from podbay.core.store import Store


def admin(tmp_path: Path) -> ProviderAdmin:
    return ProviderAdmin(Store(tmp_path), providers.load)


def test_every_provider_type_is_a_provider_with_its_capabilities_typed() -> None:
    for type_name in providers.TYPES:
        cls = providers.provider_class(type_name)
        assert issubclass(cls, Provider) and cls.type_name == type_name
    aws = providers.provider_class("aws")
    assert aws.dedicated_machine and aws.iam_policy({}) is not None
    assert providers.provider_class("docker").iam_policy({}) is None
    docker = providers.load(ProviderConfig(name="d", type="docker"))
    assert not docker.dedicated_machine and docker.leftovers is None
    aws_config = ProviderConfig(name="a", type="aws", options={"region": "us-east-1"})
    assert providers.load(aws_config).leftovers is not None


def test_the_first_provider_added_is_the_default_and_use_changes_it(tmp_path: Path) -> None:
    rules = admin(tmp_path)
    assert rules.default() is None
    asyncio.run(rules.add(ProviderConfig(name="one", type="docker"), check=False))
    asyncio.run(rules.add(ProviderConfig(name="two", type="docker"), check=False))
    assert rules.default() == "one"
    rules.use("two")
    assert rules.default() == "two"
    with pytest.raises(PodbayError, match="no provider named 'three'"):
        rules.use("three")


def test_add_refuses_a_bad_name_a_taken_name_and_bad_options(tmp_path: Path) -> None:
    rules = admin(tmp_path)
    asyncio.run(rules.add(ProviderConfig(name="one", type="docker"), check=False))
    for config, message in [
        (ProviderConfig(name="Bad Name", type="docker"), "invalid provider name"),
        (ProviderConfig(name="one", type="docker"), "a provider named 'one' exists"),
        (ProviderConfig(name="x", type="docker", options={"nope": 1}), "option nope"),
        (ProviderConfig(name="y", type="kube"), "unknown provider type"),
    ]:
        with pytest.raises(PodbayError, match=message):
            asyncio.run(rules.add(config, check=False))
    assert [p.name for p in rules.store.providers()] == ["one"]


def test_a_provider_in_use_stays_and_removing_the_default_picks_the_next(tmp_path: Path) -> None:
    rules = admin(tmp_path)
    for name in ("a", "b", "c"):
        asyncio.run(rules.add(ProviderConfig(name=name, type="docker"), check=False))
    rules.store.insert_workspace(
        Workspace(
            name="web",
            provider="b",
            source=Source(kind="folder", value="/src"),
            folder="/src",
            owned_folder=False,
            container_name="web",
        )
    )
    with pytest.raises(PodbayError, match="used by workspaces: web"):
        rules.remove("b")
    rules.remove("a")
    assert rules.default() == "b"
    asyncio.run(rules.update("c", {"host": "tcp://127.0.0.1:2375"}))
    assert asyncio.run(rules.update("c", {"host": None})).options == {}


def test_a_flat_machine_record_from_before_reads_as_address_plus_provider_fields() -> None:
    flat = {"instance_id": "i-1", "host": "h", "port": 2222, "user": "u", "host_public_key": "k"}
    record = MachineRecord.model_validate(flat)
    assert record.ssh is not None and (record.ssh.host, record.ssh.port) == ("h", 2222)
    assert record.extra == {"instance_id": "i-1"}
    assert not MachineRecord() and MachineRecord(extra={"client_token": "t"})
    # The fast path reads both shapes from the stored JSON.
    assert machine_ssh({"machine": flat})["host"] == "h"  # type: ignore[index]
    assert machine_ssh({"machine": record.model_dump()}) == record.ssh.model_dump()
    assert machine_ssh({"machine": {"ssh": None, "extra": {"x": 1}}}) is None


def test_the_fast_path_reads_only_fields_a_workspace_has() -> None:
    assert set(typing.get_type_hints(AttachRecord)) <= set(Workspace.model_fields)
