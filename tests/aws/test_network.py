"""The SSH rule podbay asks EC2 for, checked against what EC2 accepts (tests/aws/strict.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from podbay.providers.aws import network
from tests.aws import strict


def test_an_ipv6_address_is_allowed_as_an_ipv6_range_and_ipv4_as_ipv4() -> None:
    sent: list[dict[str, Any]] = []

    async def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
        strict.check("AuthorizeSecurityGroupIngress", params)  # raises where EC2 would refuse
        sent.append(params)
        return {"SecurityGroupRules": [{"SecurityGroupRuleId": f"sgr-{len(sent)}"}]}

    for cidr in ("2001:db8::7/128", "203.0.113.7/32"):
        asyncio.run(network.allow_ssh(call, "sg-1", cidr, [], None, 0))
    [v6], [v4] = (p["IpPermissions"] for p in sent)
    assert v6["Ipv6Ranges"][0]["CidrIpv6"] == "2001:db8::7/128" and "IpRanges" not in v6
    assert v4["IpRanges"][0]["CidrIp"] == "203.0.113.7/32" and "Ipv6Ranges" not in v4


def test_the_callers_address_is_asked_directly_not_through_a_proxy(
    caller_ip: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSH does not go through HTTP(S)_PROXY: the proxy's address is not the one to let in."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert network.caller_ip() == caller_ip["ip"]


def test_of_a_public_and_a_private_zone_of_one_name_the_public_one_gets_the_record(
    aws: None,
) -> None:
    import boto3

    from podbay.providers.aws import dns

    route53 = boto3.client("route53")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    private = route53.create_hosted_zone(
        Name="dev.example.org",
        CallerReference="private",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "us-east-1", "VPCId": vpc},
    )["HostedZone"]["Id"]
    public = route53.create_hosted_zone(Name="dev.example.org", CallerReference="public")[
        "HostedZone"
    ]["Id"]
    assert private != public

    async def call(service: str, operation: str, **kwargs: Any) -> Any:
        return getattr(boto3.client(service), operation)(**kwargs)

    assert asyncio.run(dns.zone_id(call, "dev.example.org.")) == public
