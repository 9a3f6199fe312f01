"""Bad AWS input from the command line: one line, a hint, exit 1, no traceback, nothing saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import aws_env
from tests.conftest import Podbay


@pytest.fixture
def cli(podbay: Podbay, moto_server: str, tmp_path: Path) -> Podbay:
    podbay.env.update(aws_env(tmp_path, moto_server))
    podbay.env.pop("AWS_PROFILE", None)
    return podbay


def _fails(podbay: Podbay, *args: str) -> tuple[str, str]:
    result = podbay(*args)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), result.stderr
    return lines[0], lines[1]


@pytest.mark.parametrize(
    ("options", "error", "hint"),
    [
        (["region=us-esat-1"], "unknown AWS region 'us-esat-1'", "did you mean us-east-1?"),
        (["region=us east 1"], "option region: Value error, a region looks like us-east-1", ""),
        (
            ["region=us-east-1", "ssh_ingress_cidr=my laptop"],
            "option ssh_ingress_cidr: Value error, write an address range",
            "",
        ),
        (["region=us-east-1", "disk_gb=2"], "option disk_gb", ""),
        (["region=us-east-1", "subnet_id=subnet-404"], "subnet-404", "check the subnet_id option"),
        (["region=us-east-1", "ami=ami-12345678"], "the AMI does not exist in this region", "ami"),
    ],
)
def test_bad_provider_options(cli: Podbay, options: list[str], error: str, hint: str) -> None:
    args = [a for option in options for a in ("-o", option)]
    line, hint_line = _fails(cli, "provider", "add", "aws", *args)
    assert error in line
    assert hint in hint_line
    assert "aws" not in cli.ok("provider", "list").stdout.split()


def test_no_credentials(cli: Podbay) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        cli.env.pop(key)
    line, hint = _fails(cli, "provider", "add", "aws", "-o", "region=us-east-1")
    assert line == "podbay: error: no AWS credentials found"
    assert "aws sso login" in hint


def test_unknown_profile(cli: Podbay) -> None:
    line, hint = _fails(
        cli, "provider", "add", "aws", "-o", "region=us-east-1", "-o", "profile=nope"
    )
    assert line == "podbay: error: AWS profile 'nope' not found"
    assert "aws configure list-profiles" in hint


def test_policy_and_gc_without_leftovers(cli: Podbay) -> None:
    import json

    policy = json.loads(cli.ok("provider", "policy", "aws").stdout)
    actions = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"ec2:RunInstances", "ec2:TerminateInstances", "ec2:DeleteSecurityGroup"} <= actions
    assert not any(a.startswith("iam:Create") for a in actions)  # no way to escalate
    # Not the user-data of every instance in the account (each holds a machine's host key)...
    assert "ec2:DescribeInstanceAttribute" not in actions
    # ...but what podbay's own hints tell the user to run, on podbay's instances only.
    [console] = [s for s in policy["Statement"] if s["Action"] == "ec2:GetConsoleOutput"]
    assert console["Condition"] == {"StringEquals": {"aws:ResourceTag/managed-by": "podbay"}}
    assert "ec2:DescribeSpotInstanceRequests" in actions  # gc finds leftover spot requests
    assert not any(a.startswith("route53:") for a in actions)  # no zone, no Route 53 at all
    cli.ok("provider", "add", "aws", "-o", "region=us-east-1")
    assert "Nothing left behind in us-east-1." in cli.ok("provider", "gc", "aws").stdout
    line, _ = _fails(cli, "provider", "gc", "docker")
    assert "provider docker makes nothing beyond its containers" in line


def _route53_statement(policy: dict[str, Any]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = policy["Statement"]
    [change] = [s for s in statements if s["Action"] == "route53:ChangeResourceRecordSets"]
    return change


def test_the_policy_lets_podbay_change_only_its_own_records_in_the_configured_zone(
    cli: Podbay,
) -> None:
    import json

    policy = json.loads(
        cli.ok("provider", "policy", "aws", "-o", "route53_zone=Dev.Example.com.").stdout
    )
    assert _route53_statement(policy)["Condition"] == {
        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["A"]},
        "ForAllValues:StringLike": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*.dev.example.com"]
        },
    }
    # A configured provider's own zone shapes its policy.
    cli.ok("provider", "add", "aws", "--name", "web", "-o", "region=us-east-1", "--no-check")
    cli.ok("provider", "set", "web", "route53_zone=web.example.org")
    policy = json.loads(cli.ok("provider", "policy", "web").stdout)
    names = _route53_statement(policy)["Condition"]["ForAllValues:StringLike"]
    assert names == {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*.web.example.org"]}
    line, hint = _fails(cli, "provider", "policy", "aws", "-o", 'route53_zone=x"],"*')
    assert line.endswith("option route53_zone: a hosted zone is a domain name like dev.example.com")
    assert hint == "hint: e.g. dev.example.com"
    line, hint = _fails(cli, "provider", "policy", "nope")
    assert line == "podbay: error: no provider or provider type named 'nope'"
    assert hint == "hint: see: podbay provider list"
