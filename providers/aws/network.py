"""Where an instance goes (subnet) and who may reach its SSH port (a security group of its own).

The SSH ingress is the caller's own public address /32, detected over HTTPS (never 0.0.0.0/0
unless the user sets it), and replaced when the address changes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from podbay.core.errors import ProviderError
from podbay.providers.aws.errors import AwsError
from podbay.providers.aws.retry import until_visible

CHECKIP_URL = "https://checkip.amazonaws.com"
RULE_PREFIX = "podbay ssh"

Call = Callable[..., Awaitable[Any]]


def caller_ip(timeout: float = 5.0) -> str:
    """This computer's public IPv4 address as AWS sees it (PODBAY_CALLER_IP_URL overrides).

    Asked directly, never through HTTP(S)_PROXY: SSH does not go through the proxy, so the
    proxy's address would be the wrong one to let in."""
    url = os.environ.get("PODBAY_CALLER_IP_URL") or CHECKIP_URL
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(url, timeout=timeout) as answer:
            text = answer.read(64).decode("ascii", "replace").strip()
        return str(ipaddress.IPv4Address(text))
    except (OSError, ValueError) as exc:
        raise ProviderError(
            f"cannot detect your public address for the SSH rule ({url}: {exc})",
            "set the ssh_ingress_cidr option of the provider, e.g. 203.0.113.7/32",
        ) from None


@dataclass(frozen=True)
class Placement:
    subnet_id: str
    vpc_id: str
    availability_zone: str


async def offered_zones(call: Call, instance_type: str) -> list[str]:
    """The availability zones of the region that offer the instance type."""
    found = await call(
        "ec2",
        "describe_instance_type_offerings",
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [instance_type]}],
    )
    return sorted(str(o["Location"]) for o in found.get("InstanceTypeOfferings", []))


async def placement(
    call: Call,
    subnet_id: str | None,
    vpc_id: str | None,
    zone: str | None,
    avoid: list[str] | tuple[str, ...] = (),
    only: list[str] | None = None,
) -> Placement:
    """The subnet to launch into: the given one, else a public subnet of the VPC (default VPC
    when none is given), in the given availability zone if any, not in a zone to `avoid` and,
    when given, in one of the `only` zones. One DescribeSubnets call."""
    if subnet_id:
        found = await call("ec2", "describe_subnets", SubnetIds=[subnet_id])
    else:
        filters: list[dict[str, Any]] = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
        if not vpc_id:
            # Default subnets exist only in the default VPC: no DescribeVpcs needed.
            filters.append({"Name": "default-for-az", "Values": ["true"]})
        if zone:
            filters.append({"Name": "availability-zone", "Values": [zone]})
        found = await call("ec2", "describe_subnets", Filters=filters)
    subnets = [
        s
        for s in found.get("Subnets", [])
        if s["AvailabilityZone"] not in avoid and (only is None or s["AvailabilityZone"] in only)
    ]
    if not subnets and (avoid or only is not None):
        raise NoZoneLeft(avoid)
    if not subnets:
        if subnet_id:
            raise ProviderError(f"subnet {subnet_id} not found", "check the subnet_id option")
        where = f"VPC {vpc_id}" if vpc_id else "the default VPC"
        raise ProviderError(
            f"no subnet in {where}" + (f" in {zone}" if zone else ""),
            "set the subnet_id option, or run: aws ec2 create-default-vpc",
        )
    subnets.sort(key=lambda s: (not s.get("MapPublicIpOnLaunch"), s["AvailabilityZone"]))
    chosen = subnets[0]
    return Placement(chosen["SubnetId"], chosen["VpcId"], chosen["AvailabilityZone"])


async def default_routes(call: Call, subnet_id: str, vpc_id: str) -> list[str]:
    """Where the subnet's 0.0.0.0/0 route goes (igw-, nat-, tgw-, vgw-, ... ids), from its own
    route table, else its VPC's main one."""
    tables = await call(
        "ec2",
        "describe_route_tables",
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}],
    )
    found = tables.get("RouteTables") or []
    if not found:  # the subnet uses its VPC's main table
        main = await call(
            "ec2",
            "describe_route_tables",
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ],
        )
        found = main.get("RouteTables") or []
    targets = (
        "GatewayId",
        "NatGatewayId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "NetworkInterfaceId",
    )
    return [
        str(next(r[k] for k in targets if r.get(k)))
        for t in found
        for r in t.get("Routes", [])
        if r.get("DestinationCidrBlock") == "0.0.0.0/0" and any(r.get(k) for k in targets)
    ]


class NoZoneLeft(ProviderError):
    """Every zone that could take the instance was tried."""

    def __init__(self, tried: list[str] | tuple[str, ...]) -> None:
        super().__init__(f"no other zone to try (tried {', '.join(tried) or 'none'})")
        self.tried = list(tried)


def ingress_cidr(option: str | None) -> str:
    return option or f"{caller_ip()}/32"


async def create_group(call: Call, name: str, vpc_id: str, tags: list[dict[str, str]]) -> str:
    """A security group for one workspace (or the existing one after a crash): no ingress yet."""
    try:
        made = await call(
            "ec2",
            "create_security_group",
            GroupName=name,
            Description="podbay workspace: SSH from one address only",
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
        )
    except AwsError as exc:
        if exc.code != "InvalidGroup.Duplicate":
            raise
        found = await call(
            "ec2",
            "describe_security_groups",
            Filters=[
                {"Name": "group-name", "Values": [name]},
                {"Name": "vpc-id", "Values": [vpc_id]},
            ],
        )
        return str(found["SecurityGroups"][0]["GroupId"])
    return str(made["GroupId"])


async def delete_group(call: Call, group_id: str, pause: float) -> None:
    """Delete a security group (one already gone is fine), retrying while it is in use."""
    # The instance's network interface lets go of the group a little after `terminated`.
    for attempt in range(10):
        try:
            await call("ec2", "delete_security_group", GroupId=group_id)
            return
        except AwsError as exc:
            if exc.code == "InvalidGroup.NotFound":
                return
            if exc.code != "DependencyViolation" or attempt == 9:
                raise
            await asyncio.sleep(pause)


def _ranges(cidr: str) -> dict[str, list[dict[str, str]]]:
    """The rule's source: an IPv6 range goes in Ipv6Ranges (EC2 refuses it as CidrIp)."""
    described = f"{RULE_PREFIX} from {cidr}"
    if ipaddress.ip_network(cidr, strict=False).version == 6:
        return {"Ipv6Ranges": [{"CidrIpv6": cidr, "Description": described}]}
    return {"IpRanges": [{"CidrIp": cidr, "Description": described}]}


async def allow_ssh(
    call: Call,
    group_id: str,
    cidr: str,
    tags: list[dict[str, str]],
    old_rule: str | None,
    pause: float,
) -> str:
    """Let `cidr` reach tcp/22, then drop podbay's previous rule; returns the new rule id."""
    try:
        made = await until_visible(  # the group may have been made moments ago
            lambda: call(
                "ec2",
                "authorize_security_group_ingress",
                GroupId=group_id,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 22,
                        "ToPort": 22,
                        **_ranges(cidr),
                    }
                ],
                TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": tags}],
            ),
            pause,
        )
    except AwsError as exc:
        if exc.code != "InvalidPermission.Duplicate":  # a retry after a crash: it is there
            raise
        made = {}
    if old_rule:
        try:
            await call(
                "ec2",
                "revoke_security_group_ingress",
                GroupId=group_id,
                SecurityGroupRuleIds=[old_rule],
            )
        except AwsError as exc:
            if "NotFound" not in exc.code:
                raise
    rules = (made or {}).get("SecurityGroupRules") or [{}]
    return str(rules[0].get("SecurityGroupRuleId", ""))
