"""What podbay asks AWS, asserted on the calls it makes (moto is lax): a ClientToken that
survives retries and re-runs, SSH open only to the caller, terminate -> `terminated` ->
delete the group, one DescribeInstances for the status of many workspaces; and the error a
user sees when SSH never answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from podbay import providers
from podbay.core.engine import Engine, UpRequest
from podbay.core.errors import PodbayError
from podbay.core.model import Event, ProviderConfig, Source, Status, Workspace
from podbay.core.store import Store
from tests.aws import strict
from tests.aws.test_errors import RawBody, ec2_error
from tests.conftest import IMAGE, write_config

_CLOSED: dict[str, int] = {}


def closed_port(instance: dict[str, Any], provider: Any) -> tuple[str, int]:
    """The resolver hook for these tests: an address where nothing answers SSH."""
    return "127.0.0.1", _CLOSED["port"]


class Calls:
    """Every EC2 call the provider's clients send: (operation, params)."""

    def __init__(self, *clients: Any) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, tuple[int, bytes]] = {}
        for client in clients:
            client.meta.events.register("before-parameter-build.ec2.*", self._record)
            client.meta.events.register_first("before-send.ec2.*", self._inject)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.sent.append((model.name, params))

    def _inject(self, request: Any, **_: Any) -> AWSResponse | None:
        text = request.body if isinstance(request.body, str) else request.body.decode()
        wire = dict(p.split("=", 1) for p in text.split("&") if "=" in p)
        action = wire.get("Action", "")
        self.sent.append((f"{action}@wire", wire))
        if action in self.fail:
            status, body = self.fail[action]
            return AWSResponse(request.url, status, {}, RawBody(body))
        return None

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [params for n, params in self.sent if n == name]


@pytest.fixture
def engine(
    aws: None, caller_ip: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        _CLOSED["port"] = sock.getsockname()[1]  # nothing listens once it is closed
    monkeypatch.setenv("PODBAY_TEST_AWS_RESOLVER", f"{__name__}:closed_port")
    monkeypatch.setenv("PODBAY_AWS_SSH_TIMEOUT", "0.5")
    monkeypatch.setenv("PODBAY_AWS_POLL_INTERVAL", "0")
    engine = Engine(Store(tmp_path / "home"), providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    yield engine


def _project(tmp_path: Path) -> str:
    write_config(tmp_path / "app", {"image": IMAGE})
    return str(tmp_path / "app")


def _live(ec2: Any) -> list[str]:
    return [
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]


def _calls(engine: Engine) -> Calls:
    provider: Any = engine.provider("cloud")
    return Calls(provider.client("ec2"), provider.client("ec2-launch"))


def test_a_retried_and_a_rerun_create_launch_one_instance_with_one_token(
    engine: Engine, tmp_path: Path
) -> None:
    request = UpRequest(source=_project(tmp_path), provider="cloud")
    # A zone the user chose (no other is tried) without room: HTTP 500, which botocore retries.
    engine.providers.save(
        ProviderConfig(
            name="cloud",
            type="aws",
            options={"region": "us-east-1", "availability_zone": "us-east-1a"},
        )
    )
    calls = _calls(engine)
    ec2 = engine.provider("cloud").client("ec2")  # type: ignore[attr-defined]
    calls.fail["RunInstances"] = (
        500,
        ec2_error("InsufficientInstanceCapacity", "No t3.medium capacity", 500),
    )
    with pytest.raises(PodbayError) as failed:
        asyncio.run(engine.up(request))
    assert failed.value.message.startswith("AWS has no capacity for this instance type")
    del calls.fail["RunInstances"]
    # moto runs behind the injected answers and ignores ClientToken, so it launched one
    # instance per attempt (AWS launches none on this error): clear them away.
    ec2.terminate_instances(InstanceIds=_live(ec2))

    # The next `up` launches; SSH never answers, and the error says where to look.
    with pytest.raises(PodbayError) as unreachable:
        asyncio.run(engine.up(request))
    ws = engine.store.workspace("app")
    group = ws.machine.extra["security_group_id"]
    assert "did not answer SSH" in unreachable.value.message
    assert group in unreachable.value.hint and "203.0.113.7/32" in unreachable.value.hint

    # Had podbay died before recording the launch's answer, the next run finds the instance
    # by its tags instead of launching again.
    ws.machine.extra.pop("instance_id")
    engine.store.save_workspace(ws)
    with pytest.raises(PodbayError):
        asyncio.run(engine.up(request))
    launches = calls.of("RunInstances")
    wire = calls.of("RunInstances@wire")
    assert len(launches) == 2  # podbay asked twice: the failed run and the next one
    assert len(wire) == 3  # botocore retried the 500 once before giving up, then the launch
    # Every attempt on the wire, retries and re-runs alike, carried the same token, with the
    # same parameters: the image and subnet were looked up once and kept for the retries.
    assert {w["ClientToken"] for w in wire} == {ws.machine.extra["client_token"]}
    assert len({(p["ImageId"], p["SubnetId"]) for p in launches}) == 1
    assert len(calls.of("DescribeImages")) == 1 and len(calls.of("DescribeSubnets")) == 1
    assert len(_live(ec2)) == 1

    # Hardened launch parameters, asserted on what was sent.
    [params] = [p for p in launches if "ImageId" in p][-1:]
    assert params["ImageId"] == "ami-0a0000000000noble"
    assert params["MetadataOptions"]["HttpTokens"] == "required"
    assert params["BlockDeviceMappings"][0]["Ebs"] == {
        "VolumeSize": 40,
        "VolumeType": "gp3",
        "Encrypted": True,
        "DeleteOnTermination": True,
    }
    assert params["InstanceInitiatedShutdownBehavior"] == "stop"
    assert "IamInstanceProfile" not in params
    [rule] = calls.of("AuthorizeSecurityGroupIngress")
    assert [r["CidrIp"] for r in rule["IpPermissions"][0]["IpRanges"]] == ["203.0.113.7/32"]

    # Delete: terminate, wait for `terminated`, only then delete the group. (--force: this
    # test's instance answers no SSH, so the copy of the folder on it cannot be checked.)
    before = len(calls.sent)
    asyncio.run(engine.delete("app", force=True))
    order = [n for n in calls.names()[before:] if not n.endswith("@wire")]
    terminate = order.index("TerminateInstances")
    assert order[terminate + 1] == "DescribeInstances"
    assert order.index("DeleteSecurityGroup") > terminate + 1
    assert [p["GroupId"] for p in calls.of("DeleteSecurityGroup")] == [group]
    assert (
        ec2.describe_security_groups(Filters=[{"Name": "tag:managed-by", "Values": ["podbay"]}])[
            "SecurityGroups"
        ]
        == []
    )


def test_a_zone_without_room_moves_the_launch_to_the_next_zone_that_offers_the_type(
    engine: Engine, tmp_path: Path
) -> None:
    """EC2 answers a zone out of capacity with HTTP 500 InsufficientInstanceCapacity: podbay
    tries it twice at most, then asks which zones offer the type and launches in the next one,
    with a token of its own (a token belongs to its parameters)."""
    calls = _calls(engine)
    provider: Any = engine.provider("cloud")
    ec2 = provider.client("ec2")
    zones = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
    full = "us-east-1a"  # the zone podbay picks first (default subnets, by name)

    def no_room(request: Any, **_: Any) -> AWSResponse | None:
        text = request.body if isinstance(request.body, str) else request.body.decode()
        wire = dict(p.split("=", 1) for p in text.split("&") if "=" in p)
        if zones.get(wire.get("SubnetId", "")) == full:
            body = ec2_error("InsufficientInstanceCapacity", "No t3.medium capacity", 500)
            return AWSResponse(request.url, 500, {}, RawBody(body))
        return None

    provider.client("ec2-launch").meta.events.register_first(
        "before-send.ec2.RunInstances", no_room
    )
    with pytest.raises(PodbayError) as unreachable:  # nothing answers SSH; the launch is done
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    assert "did not answer SSH" in unreachable.value.message
    wire = calls.of("RunInstances@wire")
    assert [zones[w["SubnetId"]] for w in wire] == [full, full, "us-east-1b"]
    assert len({w["ClientToken"] for w in wire}) == 2  # one per zone
    assert len(calls.of("DescribeInstanceTypeOfferings")) == 1
    ws = engine.store.workspace("app")
    [instance] = ec2.describe_instances(InstanceIds=[ws.machine.extra["instance_id"]])[
        "Reservations"
    ][0]["Instances"]
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert len(calls.of("CreateSecurityGroup")) == 1  # the group made for the first try
    assert "zones_tried" not in ws.machine.extra
    log = (engine.store.root / "logs" / "app.log").read_text()
    assert "us-east-1a cannot launch a t3.medium now (InsufficientInstanceCapacity)" in log


def test_a_subnet_without_an_internet_gateway_is_named_instead_of_a_silent_ssh(
    engine: Engine, tmp_path: Path
) -> None:
    """A private subnet (no route, or a NAT gateway only) can never be reached: the user is
    told why, after a minute at most, not after the ten-minute SSH timeout."""
    ec2: Any = engine.provider("cloud").client("ec2")  # type: ignore[attr-defined]
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    # Public addresses on launch, but no route to an internet gateway: nothing can reach them.
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    engine.providers.save(
        ProviderConfig(
            name="cloud", type="aws", options={"region": "us-east-1", "subnet_id": subnet}
        )
    )
    with pytest.raises(PodbayError) as failed:
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    assert failed.value.message == (
        f"subnet {subnet} has no route to an internet gateway: the VM cannot install Docker "
        "and SSH cannot reach it"
    )
    assert "podbay provider set cloud subnet_id=SUBNET" in failed.value.hint


def test_a_type_no_zone_can_launch_is_said_with_the_zones_tried(
    engine: Engine, tmp_path: Path, strict_aws: Any
) -> None:
    asked: list[str] = []

    def unsupported(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["SubnetId"])  # refused as AWS refuses: nothing launched
        raise strict.Violation(
            "Unsupported", "The requested configuration is currently not supported"
        )

    strict_aws.answers["RunInstances"] = unsupported
    with pytest.raises(PodbayError) as failed:
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    ec2: Any = engine.provider("cloud").client("ec2")  # type: ignore[attr-defined]
    offers = ec2.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": ["t3.medium"]}],
    )["InstanceTypeOfferings"]
    subnets = {s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
    # Every zone with a default subnet that offers the type (as on AWS, us-east-1e does not).
    tried = sorted(subnets & {o["Location"] for o in offers})
    assert "us-east-1e" in subnets and "us-east-1e" not in tried
    assert failed.value.message.startswith(
        f"no zone can launch a t3.medium now (tried {', '.join(tried)})"
    )
    assert "instance_type=" in failed.value.hint
    assert len(asked) == len(tried)  # 400: each zone asked once
    # No room passes: the next `up` asks every zone again, from the first.
    with pytest.raises(PodbayError) as again:
        asyncio.run(engine.up(UpRequest(name="app")))
    assert again.value.message == failed.value.message
    assert len(asked) == 2 * len(tried) and asked[len(tried)] == asked[0]


def test_the_ssh_rule_follows_the_caller_and_never_opens_to_the_world_by_itself(
    engine: Engine, tmp_path: Path, caller_ip: dict[str, str]
) -> None:
    calls = _calls(engine)
    request = UpRequest(source=_project(tmp_path), provider="cloud")
    with pytest.raises(PodbayError):
        asyncio.run(engine.up(request))
    caller_ip["ip"] = "198.51.100.9"  # the laptop moved
    with pytest.raises(PodbayError):
        asyncio.run(engine.up(request))
    ws = engine.store.workspace("app")
    ec2 = engine.provider("cloud").client("ec2")  # type: ignore[attr-defined]
    [group] = ec2.describe_security_groups(GroupIds=[ws.machine.extra["security_group_id"]])[
        "SecurityGroups"
    ]
    ranges = [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]]
    assert ranges == ["198.51.100.9/32"]
    sent = [
        r["CidrIp"]
        for p in calls.of("AuthorizeSecurityGroupIngress")
        for r in p["IpPermissions"][0]["IpRanges"]
    ]
    assert "0.0.0.0/0" not in sent
    assert len(calls.of("RevokeSecurityGroupIngress")) == 1


def test_an_open_rule_only_when_the_user_sets_it_and_with_a_warning(
    engine: Engine, tmp_path: Path
) -> None:
    engine.providers.save(
        ProviderConfig(
            name="cloud",
            type="aws",
            options={"region": "us-east-1", "ssh_ingress_cidr": "0.0.0.0/0"},
        )
    )
    events: list[Event] = []
    with pytest.raises(PodbayError):
        asyncio.run(
            engine.up(UpRequest(source=_project(tmp_path), provider="cloud"), events.append)
        )
    warnings = [e.message for e in events if e.kind == "warning"]
    assert any("open to the whole internet (0.0.0.0/0)" in w for w in warnings)


def test_status_of_many_workspaces_is_one_describe_instances(
    engine: Engine, tmp_path: Path
) -> None:
    provider = engine.provider("cloud")
    ec2 = provider.client("ec2")  # type: ignore[attr-defined]
    install = engine.store.install_id()
    names = [f"ws{i}" for i in range(12)]
    for name in names:
        engine.store.insert_workspace(
            Workspace(
                name=name,
                provider="cloud",
                source=Source(kind="image", value=IMAGE),
                folder=f"/var/lib/podbay/workspaces/{name}",
                owned_folder=True,
                container_name=name,
                phase="ready",
                machine={"region": "us-east-1", "client_token": "t"},
            )
        )
        ec2.run_instances(
            ImageId="ami-0a0000000000noble",
            InstanceType="t3.large",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": "managed-by", "Value": "podbay"},
                        {"Key": "podbay:workspace", "Value": name},
                        {"Key": "podbay:home", "Value": install},
                    ],
                }
            ],
        )
    stopped = ec2.describe_instances(Filters=[{"Name": "tag:podbay:workspace", "Values": ["ws3"]}])
    ec2.stop_instances(InstanceIds=[stopped["Reservations"][0]["Instances"][0]["InstanceId"]])
    calls = Calls(ec2)
    statuses = {s.workspace.name: s for s in asyncio.run(engine.status_all())}
    assert [n for n in calls.names() if not n.endswith("@wire")] == ["DescribeInstances"]
    assert statuses["ws3"].status == Status.STOPPED
    assert all(statuses[n].status == Status.RUNNING for n in names if n != "ws3")
    machine = statuses["ws0"].machine
    assert machine is not None
    # AWS's Price List (0.0836) and the public address; the disk at the listed gp3 price.
    assert (machine.type, machine.hourly, machine.monthly) == ("t3.large", 0.0886, 67.88)


def test_a_throttled_request_waits_and_is_sent_again(engine: Engine, strict_aws: Any) -> None:
    """AWS answers RequestLimitExceeded when an account calls too fast; podbay's clients back
    off and retry (botocore's adaptive mode) instead of showing the user a throttling error."""
    engine.store.insert_workspace(
        Workspace(
            name="busy",
            provider="cloud",
            source=Source(kind="image", value=IMAGE),
            folder="/var/lib/podbay/workspaces/busy",
            owned_folder=True,
            container_name="busy",
            phase="ready",
            machine={"region": "us-east-1", "client_token": "t"},
        )
    )
    strict_aws.throttling.rate = 1.0  # every request's first attempt
    [status] = asyncio.run(engine.status_all())
    assert status.status == Status.NOT_FOUND
    assert strict_aws.throttling.throttled == ["DescribeInstances"]


def test_a_launch_throttled_beyond_its_clients_two_tries_is_sent_again(
    engine: Engine, tmp_path: Path, strict_aws: Any
) -> None:
    """RunInstances' client tries twice (a full zone must not cost eight tries); throttling
    that outlasts both is retried by podbay, not shown to the user."""
    throttling = strict_aws.throttling
    throttling.rate, throttling.attempts = 1.0, 2
    throttling.only, throttling.budget = {"RunInstances"}, 2
    with pytest.raises(PodbayError) as unreachable:  # nothing answers SSH; the launch is done
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    assert "did not answer SSH" in unreachable.value.message
    assert throttling.throttled == ["RunInstances", "RunInstances"]


def test_spot_and_route53(engine: Engine, tmp_path: Path) -> None:
    import boto3

    route53 = boto3.client("route53")
    zone = route53.create_hosted_zone(Name="dev.example.org", CallerReference="podbay-test")
    engine.providers.save(
        ProviderConfig(
            name="cloud",
            type="aws",
            options={"region": "us-east-1", "spot": True, "route53_zone": "dev.example.org"},
        )
    )
    calls = _calls(engine)
    with pytest.raises(PodbayError):  # nothing answers SSH; the machine and record exist
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    [launch] = calls.of("RunInstances")
    assert launch["InstanceMarketOptions"] == {
        "MarketType": "spot",
        "SpotOptions": {"SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop"},
    }
    zone_id = zone["HostedZone"]["Id"]

    def a_records() -> list[dict[str, Any]]:
        sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return [r for r in sets if r["Type"] == "A"]

    ws = engine.store.workspace("app")
    [record] = a_records()
    assert record["Name"] == "app.dev.example.org."
    assert record["ResourceRecords"] == [{"Value": ws.machine.extra["public_ip"]}]

    # Stopped, the instance's address goes back to AWS: the name goes with it; start writes
    # it again (moto keeps the address, AWS would hand out a new one).
    asyncio.run(engine.stop("app"))
    assert a_records() == []
    with pytest.raises(PodbayError):  # nothing answers SSH, as above
        asyncio.run(engine.start("app"))
    [record] = a_records()
    assert record["Name"] == "app.dev.example.org."

    # moto makes no request object for a spot launch; make one as AWS would have.
    ec2 = engine.provider("cloud").client("ec2")  # type: ignore[attr-defined]
    request = ec2.request_spot_instances(
        LaunchSpecification={"ImageId": "ami-0a0000000000noble", "InstanceType": "t3.medium"}
    )
    ws.machine.extra["spot_request_id"] = request["SpotInstanceRequests"][0][
        "SpotInstanceRequestId"
    ]
    engine.store.save_workspace(ws)
    before = len(calls.sent)
    asyncio.run(engine.delete("app", force=True))  # (no SSH here: the copy is not checked)
    order = [n for n in calls.names()[before:] if not n.endswith("@wire")]
    assert order.index("CancelSpotInstanceRequests") < order.index("TerminateInstances")
    assert a_records() == []


def test_a_spot_instance_aws_stopped_is_said_so_with_what_to_do(
    engine: Engine, tmp_path: Path, strict_aws: Any
) -> None:
    """EC2 stops a persistent spot instance when it needs the capacity back and starts it again
    itself; StartInstances is refused meanwhile. The user is told that, not a raw error."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import StateReason

    engine.providers.save(
        ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1", "spot": True})
    )
    with pytest.raises(PodbayError):  # nothing answers SSH; the machine exists
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    asyncio.run(engine.stop("app"))
    instance_id = engine.store.workspace("app").machine.extra["instance_id"]
    instance = ec2_backends["123456789012"]["us-east-1"].get_instance(instance_id)
    instance.state_reason = StateReason(
        "Server.SpotInstanceShutdown: The instance was stopped due to a Spot interruption",
        "Server.SpotInstanceShutdown",
    )

    def refused_while_interrupted(params: dict[str, Any]) -> dict[str, Any]:
        raise strict.Violation("IncorrectSpotRequestState", "The spot request is not active")

    strict_aws.answers["StartInstances"] = refused_while_interrupted
    with pytest.raises(PodbayError) as refused:
        asyncio.run(engine.start("app"))
    assert refused.value.message == (
        f"instance {instance_id} was stopped by AWS (spot interruption); EC2 starts it again "
        "by itself when spot capacity returns"
    )
    assert "podbay up app" in refused.value.hint and "spot=false" in refused.value.hint
    [status] = asyncio.run(engine.status_all())
    assert "spot interruption" in status.detail
    ws = engine.store.workspace("app")
    polled = asyncio.run(engine.provider("cloud").poll(engine.store.install_id(), [ws]))
    assert polled["app"].detail == (
        f"instance {instance_id} stopped (t3.medium, spot interruption: EC2 restarts it when "
        "capacity returns)"
    )


def test_a_deleted_machine_leaves_no_address_behind(engine: Engine) -> None:
    """Were `delete` stopped after the machine went and before the record did, the next
    `delete` must not go looking for the machine (it would refuse, "not checked")."""
    from podbay.core.model import MachineRecord, SshAddress
    from podbay.core.reporter import Reporter
    from podbay.core.workspace_host import machine_job

    ws = Workspace(
        name="gone",
        provider="cloud",
        source=Source(kind="git", value="https://example.invalid/x.git"),
        folder="/home/podbay/workspaces/gone",
        owned_folder=True,
        container_name="gone",
        machine=MachineRecord(
            ssh=SshAddress(host="198.51.100.4", user="podbay", host_public_key="ssh-ed25519 k"),
            extra={"region": "us-east-1"},
        ),
    )
    engine.store.insert_workspace(ws)
    job = machine_job(engine.store, ws, Reporter(engine.store.root, ws.name, None))
    asyncio.run(engine.provider("cloud").delete_machine(job))
    assert not engine.store.workspace("gone").machine


def test_gc_cancels_a_leftover_spot_request_before_terminating_its_instance(
    engine: Engine,
) -> None:
    """A persistent spot request outlives its instance: EC2 would launch it again."""
    ec2 = engine.provider("cloud").client("ec2")  # type: ignore[attr-defined]
    tags = [
        {"Key": "managed-by", "Value": "podbay"},
        {"Key": "podbay:home", "Value": engine.store.install_id()},
        {"Key": "podbay:workspace", "Value": "forgotten"},
    ]
    [request] = ec2.request_spot_instances(
        Type="persistent",
        LaunchSpecification={"ImageId": "ami-0a0000000000noble", "InstanceType": "t3.medium"},
        TagSpecifications=[{"ResourceType": "spot-instances-request", "Tags": tags}],
    )["SpotInstanceRequests"]
    launched = ec2.run_instances(
        ImageId="ami-0a0000000000noble",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]["InstanceId"]
    calls = _calls(engine)
    leftovers = engine.provider("cloud").leftovers
    assert leftovers is not None
    found = asyncio.run(leftovers.find(engine.store.install_id(), set(), False))
    kinds = {(i.kind, i.id) for i in found}
    assert ("spot-request", request["SpotInstanceRequestId"]) in kinds
    assert ("instance", launched) in kinds
    asyncio.run(leftovers.remove(found))
    order = [n for n in calls.names() if not n.endswith("@wire")]
    assert order.index("CancelSpotInstanceRequests") < order.index("TerminateInstances")
    live = ec2.describe_spot_instance_requests(
        Filters=[{"Name": "state", "Values": ["open", "active", "disabled"]}]
    )["SpotInstanceRequests"]
    assert request["SpotInstanceRequestId"] not in {r["SpotInstanceRequestId"] for r in live}


@pytest.mark.parametrize(
    ("state", "words", "hint"),
    [
        ("stopped", "stopped instead of running (Client.InternalError", "kms:CreateGrant"),
        ("terminated", "was terminated (Client.InternalError", "EC2 console"),
    ],
)
def test_a_launch_that_never_runs_says_why_at_once(
    engine: Engine, state: str, words: str, hint: str
) -> None:
    """Not a 15-minute wait: EC2's own reason (a KMS key it cannot use) and what to grant."""
    provider: Any = engine.provider("cloud")
    seen: list[str] = []

    async def describe(service: str, operation: str, **params: Any) -> dict[str, Any]:
        seen.append(operation)
        reason = {"Code": "Client.InternalError", "Message": "Client.InternalError: Client error"}
        instance = {"InstanceId": "i-1", "State": {"Name": state}, "StateReason": reason}
        return {"Reservations": [{"Instances": [instance]}]}

    provider._call = describe
    with pytest.raises(PodbayError) as failed:
        asyncio.run(provider._wait("i-1", "running"))
    assert words in failed.value.message and hint in failed.value.hint
    assert seen == ["describe_instances"]


def test_a_refused_image_lookup_reads_as_any_refusal(engine: Engine, tmp_path: Path) -> None:
    """DescribeImages goes through the same translation as every other call: one line, the
    action, and the hint to the policy (not a raw botocore error)."""
    calls = _calls(engine)
    calls.fail["DescribeImages"] = (
        403,
        ec2_error("UnauthorizedOperation", "You are not authorized to perform this", 403),
    )
    with pytest.raises(PodbayError) as refused:
        asyncio.run(engine.up(UpRequest(source=_project(tmp_path), provider="cloud")))
    assert refused.value.message.startswith("not allowed (describe_images)")
    assert "podbay provider policy aws" in refused.value.hint
