"""The whole path against moto in-process and a stand-in instance: create -> SSH -> Docker ->
devcontainer up -> `ssh NAME.podbay` -> stop -> start -> delete, nothing left behind."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from podbay import providers
from podbay.core.engine import Engine, UpRequest
from podbay.core.errors import PodbayError, WorkAtRisk
from podbay.core.model import Event, ProviderConfig, Status
from podbay.core.store import Store
from tests.aws import standin
from tests.conftest import IMAGE, write_config


def _ssh(home: Path, name: str, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(home / "ssh_config"), f"{name}.podbay", *cmd],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _podbay_resources(ec2: Any) -> dict[str, list[str]]:
    managed = [{"Name": "tag:managed-by", "Values": ["podbay"]}]
    instances = [
        i["InstanceId"]
        for r in ec2.describe_instances(Filters=managed)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    groups = [g["GroupId"] for g in ec2.describe_security_groups(Filters=managed)["SecurityGroups"]]
    volumes = [v["VolumeId"] for v in ec2.describe_volumes(Filters=managed)["Volumes"]]
    return {"instances": instances, "groups": groups, "volumes": volumes}


def test_workspace_on_a_stand_in_instance(
    aws: None, caller_ip: dict[str, str], standin_env: Path, tmp_path: Path, strict_aws: Any
) -> None:
    home = tmp_path / "home"
    store = Store(home)
    engine = Engine(store, providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    project = tmp_path / "project"
    write_config(
        project,
        {"image": IMAGE, "postCreateCommand": "echo made > /tmp/created"},
    )
    (project / "hello.txt").write_text("from the laptop\n")
    try:
        ws = asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
        assert ws.phase == "ready"
        # EC2 did not know the new group and instance at first; podbay waited for them.
        assert {op for op, _ in strict_aws.answered} == {
            "AuthorizeSecurityGroupIngress",
            "DescribeInstances",
        }
        assert ws.folder == f"{standin_env}/project"
        provider = engine.provider("cloud")
        ec2 = provider.client("ec2")  # type: ignore[attr-defined]

        # The instance as launched: hardened, tagged, SSH from the caller's /32 only.
        instance = ec2.describe_instances(InstanceIds=[ws.machine.extra["instance_id"]])[
            "Reservations"
        ][0]["Instances"][0]
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["managed-by"] == "podbay" and tags["podbay:workspace"] == "project"
        group = ec2.describe_security_groups(GroupIds=[ws.machine.extra["security_group_id"]])
        ranges = [
            r["CidrIp"] for p in group["SecurityGroups"][0]["IpPermissions"] for r in p["IpRanges"]
        ]
        assert ranges == ["203.0.113.7/32"]

        # The user's files arrived on the machine; ssh NAME.podbay reaches the container.
        result = _ssh(home, "project", "cat /workspaces/project/hello.txt /tmp/created; whoami")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "from the laptop\nmade\nroot\n"

        # Drift is read where the config lives: on the machine, over SSH.
        assert asyncio.run(engine.drift("project")) == []
        on_machine = Path(ws.folder)  # the stand-in shares this folder with the test
        write_config(on_machine, {"image": IMAGE, "containerEnv": {"V": "2"}})
        assert asyncio.run(engine.drift("project")) == ["containerEnv", "postCreateCommand"]

        statuses = asyncio.run(engine.status_all())
        assert statuses[0].status == Status.RUNNING
        assert statuses[0].machine is not None and statuses[0].machine.hourly == 0.0468  # listed

        asyncio.run(engine.stop("project"))
        standin.sync(ec2, store.install_id())
        assert asyncio.run(engine.status_all())[0].status == Status.STOPPED
        assert _ssh(home, "project", "true").returncode != 0

        asyncio.run(engine.start("project"))
        result = _ssh(home, "project", "cat /workspaces/project/hello.txt")
        assert result.returncode == 0 and result.stdout == "from the laptop\n"

        # A broken config on the machine is named by its path there, with line and column.
        write_config(on_machine, '{\n  "image": ,\n}')
        with pytest.raises(PodbayError) as broken:
            asyncio.run(engine.up(UpRequest(name="project")))
        assert broken.value.message.startswith(
            f"{ws.folder}/.devcontainer/devcontainer.json:2:12"
        ), broken.value.message

        # That change on the machine is not here: delete says so, and goes with --force.
        with pytest.raises(WorkAtRisk) as refused:
            asyncio.run(engine.delete("project"))
        assert "changed on the machine: .devcontainer/devcontainer.json" in refused.value.message
        asyncio.run(engine.delete("project", force=True))
        standin.sync(ec2, store.install_id())
        assert _podbay_resources(ec2) == {"instances": [], "groups": [], "volumes": []}
        assert project.exists() and (project / "hello.txt").exists()
    finally:
        standin.remove_all(store.install_id())


def test_a_first_boot_that_failed_is_run_again_by_up(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The package mirror fails both tries of the first boot (user-data marks the machine
    failed): `up` runs the machine's own copy of user-data again instead of a dead end."""
    monkeypatch.setenv("STANDIN_APT_UPDATE_FAILURES", "2")
    store = Store(tmp_path / "home")
    engine = Engine(store, providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    project = tmp_path / "project"
    write_config(project, {"image": IMAGE})
    warnings: list[str] = []

    def seen(event: Event) -> None:
        if event.kind == "warning":
            warnings.append(event.message)

    try:
        ws = asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud"), seen))
        assert ws.phase == "ready"
        assert any(
            w.startswith("the machine's setup failed (user-data failed at line")
            and w.endswith("running it again")
            for w in warnings
        ), warnings
        assert _ssh(store.root, "project", "true").returncode == 0
    finally:
        standin.remove_all(store.install_id())
