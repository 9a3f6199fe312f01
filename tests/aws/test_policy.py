"""The IAM policy allows every call podbay's AWS code makes: read from the code itself, so a
new call without its permission fails here, not on a user's account."""

from __future__ import annotations

import re
from pathlib import Path

from podbay.providers.aws import policy

SOURCES = Path(__file__).resolve().parents[2] / "providers" / "aws"
# Asked of AWS without a permission (GetCallerIdentity), or optional with a note when refused
# (the deep check's policy simulation).
NEEDS_NO_GRANT = {"sts:GetCallerIdentity", "iam:SimulatePrincipalPolicy"}
SERVICE = {"ec2-launch": "ec2"}  # podbay's own client name for RunInstances


def _calls() -> set[str]:
    found: set[str] = set()
    for file in SOURCES.glob("*.py"):
        text = file.read_text()
        pairs = re.findall(r'call\(\s*"([a-z0-9-]+)",\s*"([a-z_0-9]+)"', text)
        pairs += [("ec2", op) for op in re.findall(r'get_paginator\(\s*"([a-z_]+)"', text)]
        for service, operation in pairs:
            action = "".join(part.title() for part in operation.split("_"))
            found.add(f"{SERVICE.get(service, service)}:{action}")
    return found


def test_every_call_in_the_code_is_allowed_by_the_policy() -> None:
    calls = _calls()
    assert {"ec2:RunInstances", "ec2:DescribeRouteTables", "pricing:GetProducts"} <= calls
    allowed = policy.actions(policy.document("dev.example.com"))
    assert sorted(calls - NEEDS_NO_GRANT - allowed) == []
    # Without a zone, everything but Route 53.
    plain = policy.actions(policy.document(None))
    assert sorted(a for a in calls - NEEDS_NO_GRANT - plain if not a.startswith("route53:")) == []
