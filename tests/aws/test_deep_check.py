"""`podbay provider check aws --deep`: what `up` depends on, asked of the account without
creating anything; a row per check, a fix for what would fail, non-zero when `up` would fail."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import boto3
import pytest

from podbay import providers
from podbay.core.model import ProviderConfig
from podbay.core.provider import CheckResult
from tests.aws import strict
from tests.conftest import Podbay


def _check(options: dict[str, Any]) -> dict[str, CheckResult]:
    provider = providers.load(
        ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1", **options})
    )
    assert provider.deep_check is not None
    return {r.name: r for r in asyncio.run(provider.deep_check.run())}


def _running() -> int:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    return sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])


def test_a_ready_account_passes_every_check_and_nothing_is_created(
    aws: None, caller_ip: dict[str, str]
) -> None:
    found = _check({"spot": True})
    assert [name for name, r in found.items() if r.ok is not True] == []
    assert set(found) == {
        "credentials",
        "network",
        "image",
        "policy",
        "instance type in the zone",
        "default EBS key",
        "route to the internet",
        "your address for SSH",
        "launch (DryRun)",
        "spot launch (DryRun)",
    }
    assert found["your address for SSH"].detail.endswith("203.0.113.7/32")
    assert _running() == 0  # DryRun: nothing launched, nothing billed


def test_the_policy_asked_about_is_the_one_the_provider_needs(
    aws: None, caller_ip: dict[str, str], strict_aws: Any
) -> None:
    asked: list[set[str]] = []

    def simulate(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(set(params["ActionNames"]))
        return strict.MOTO_LACKS["SimulatePrincipalPolicy"](params)

    strict_aws.answers["SimulatePrincipalPolicy"] = simulate
    _check({})
    _check({"route53_zone": "dev.example.com"})
    without, with_zone = asked
    assert with_zone - without == {
        "route53:ChangeResourceRecordSets",
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
    }


def test_what_would_fail_is_named_with_its_fix(
    aws: None, caller_ip: dict[str, str], strict_aws: Any
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]

    def denied(params: dict[str, Any]) -> dict[str, Any]:
        decide = {"ec2:RunInstances": "implicitDeny"}
        return {
            "EvaluationResults": [
                {"EvalActionName": n, "EvalDecision": decide.get(n, "allowed")}
                for n in params["ActionNames"]
            ]
        }

    def refused(params: dict[str, Any]) -> dict[str, Any]:
        raise strict.Violation("UnauthorizedOperation", "You are not authorized to perform this")

    strict_aws.answers["SimulatePrincipalPolicy"] = denied
    strict_aws.answers["RunInstances"] = refused
    strict_aws.answers["GetEbsDefaultKmsKeyId"] = lambda _: {
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    found = _check({"subnet_id": private})
    assert found["policy"].ok is False
    assert found["policy"].detail == "not allowed: ec2:RunInstances"
    assert "podbay provider policy cloud" in found["policy"].fix  # its own, zone and all
    assert found["route to the internet"].ok is False
    assert private in found["route to the internet"].detail
    assert "0.0.0.0/0" in found["route to the internet"].fix
    assert found["default EBS key"].ok is None  # a note: the grants cannot be read from here
    assert "kms:CreateGrant" in found["default EBS key"].fix
    assert found["launch (DryRun)"].ok is False
    assert found["launch (DryRun)"].detail.startswith("not allowed (run_instances)")


def test_without_permission_to_simulate_the_policy_row_is_a_note(
    aws: None, caller_ip: dict[str, str], strict_aws: Any
) -> None:
    def no(params: dict[str, Any]) -> dict[str, Any]:
        raise strict.Violation("AccessDenied", "not authorized to iam:SimulatePrincipalPolicy")

    strict_aws.answers["SimulatePrincipalPolicy"] = no
    policy = _check({})["policy"]
    assert policy.ok is None and "not checked" in policy.detail


@pytest.fixture
def cli(podbay: Podbay, moto_server: str, tmp_path: Any) -> Podbay:
    from tests.aws.conftest import aws_env

    podbay.env.update(aws_env(tmp_path, moto_server))
    podbay.env.pop("AWS_PROFILE", None)
    # AWS's strictness, and what moto lacks, inside the podbay process too.
    root = Path(__file__).resolve().parents[2]
    podbay.env["PYTHONPATH"] = f"{Path(__file__).parent / 'site'}:{root}"
    podbay.env["PODBAY_TEST_STRICT_AWS"] = "1"
    return podbay


def test_the_command_prints_a_table_fixes_and_fails_when_up_would(
    cli: Podbay, moto_server: str, caller_ip: dict[str, str]
) -> None:
    import os

    cli.env["PODBAY_CALLER_IP_URL"] = os.environ["PODBAY_CALLER_IP_URL"]
    cli.ok("provider", "add", "aws", "-o", "region=us-east-1", "--no-check")
    # moto_server's default VPC has no internet gateway: `up` would make an unreachable VM.
    result = cli("provider", "check", "aws", "--deep")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0].split() == ["CHECK", "RESULT", "DETAIL"]
    [route] = [line for line in lines if line.startswith("route to the internet ")]
    assert route.split()[4] == "FAIL"
    assert any(line.startswith("route to the internet: choose a public subnet") for line in lines)
    assert lines[-2] == "up would fail: fix the FAIL rows above."
    from tests.aws.conftest import default_vpc_as_aws_makes_it

    default_vpc_as_aws_makes_it(endpoint=moto_server)
    fixed = cli("provider", "check", "aws", "--deep", "--json")
    assert fixed.returncode == 0, fixed.stdout
    assert '"passed": true' in fixed.stdout
    refused = cli("provider", "check", "docker", "--deep")
    assert refused.returncode == 1
    assert "provider docker has no deep check" in refused.stderr
