"""A room of 5 on AWS (moto, stand-in instances): five VMs launched by one `up`, each with its
own ClientToken and tags, all ready; `delete --prefix` terminates them all."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import boto3

from podbay import providers
from podbay.core.engine import Engine, UpRequest
from podbay.core.model import ProviderConfig
from podbay.core.store import Store
from tests.aws import standin
from tests.conftest import BUSYBOX, write_config


def test_a_room_of_five_vms_comes_up_and_goes(
    aws: None, caller_ip: dict[str, str], standin_env: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "home")
    engine = Engine(store, providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    project = tmp_path / "class"
    write_config(project, {"image": BUSYBOX})
    try:
        members = asyncio.run(
            engine.up_room(UpRequest(source=str(project), provider="cloud"), 5, "ws-")
        )
        assert [(m.name, m.ok, m.error) for m in members] == [
            (f"ws-{i:02d}", True, "") for i in range(1, 6)
        ]
        ec2 = boto3.client("ec2", region_name="us-east-1")
        instances = [
            i
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        tags = sorted(
            next(t["Value"] for t in i["Tags"] if t["Key"] == "podbay:workspace") for i in instances
        )
        assert tags == [f"ws-{i:02d}" for i in range(1, 6)]
        assert len({i["ClientToken"] for i in instances}) == 5
        assert all(store.workspace(f"ws-{i:02d}").machine.own for i in range(1, 6))

        gone = asyncio.run(engine.delete_room("ws-"))
        assert [(m.name, m.ok) for m in gone] == [(f"ws-{i:02d}", True) for i in range(1, 6)]
        states = {
            i["State"]["Name"]
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
        }
        assert states == {"terminated"}
        assert store.workspaces() == []
    finally:
        for i in range(1, 6):
            with contextlib.suppress(Exception):
                asyncio.run(engine.delete(f"ws-{i:02d}", force=True))
        standin.remove_all(store.install_id())
