"""The SSH rule podbay asks EC2 for, checked against what EC2 accepts (tests/aws/strict.py)."""

from __future__ import annotations

import asyncio
from typing import Any

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
