"""The IAM policy allows every call podbay's AWS code makes: read from the code itself, so a
new call without its permission fails here, not on a user's account."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from podbay.providers.aws import policy
from tests.aws import cloud

SOURCES = Path(__file__).resolve().parents[2] / "providers" / "aws"
# Asked of AWS without a permission (GetCallerIdentity), or optional with a note when refused
# (the deep check's policy simulation).
NEEDS_NO_GRANT = {"sts:GetCallerIdentity", "iam:SimulatePrincipalPolicy"}
SERVICE = {"ec2-launch": "ec2"}  # podbay's own client name for RunInstances
# Calls made on a boto3 client directly (not through the provider's `call`), by service.
DIRECT = {"get_parameter": "ssm", "get_secret_value": "secretsmanager",
          "get_authorization_token": "ecr", "describe_repositories": "ecr",
          "create_repository": "ecr", "put_lifecycle_policy": "ecr"}  # fmt: skip


def _calls() -> set[str]:
    found: set[str] = set()
    for file in SOURCES.glob("*.py"):
        text = file.read_text()
        pairs = re.findall(r'call\(\s*"([a-z0-9-]+)",\s*"([a-z_0-9]+)"', text)
        pairs += [("ec2", op) for op in re.findall(r'get_paginator\(\s*"([a-z_]+)"', text)]
        direct = set(re.findall(r"\bclient\.([a-z_]+)\(", text)) - {"get_paginator"}
        assert set(direct) <= set(DIRECT), f"{file.name}: map {set(direct) - set(DIRECT)}"
        pairs += [(DIRECT[op], op) for op in sorted(direct)]
        for service, operation in pairs:
            action = "".join(part.title() for part in operation.split("_"))
            found.add(f"{SERVICE.get(service, service)}:{action}")
    return found


def test_every_call_in_the_code_is_allowed_by_the_policy() -> None:
    calls = _calls()
    assert {"ec2:RunInstances", "ec2:DescribeRouteTables", "pricing:GetProducts"} <= calls
    allowed = policy.actions(
        policy.document("dev.example.com", ["ssm:/a", "secretsmanager:b"], prebuilds=True)
    )
    assert sorted(calls - NEEDS_NO_GRANT - allowed) == []
    # Without a zone, everything but Route 53; without --prebuilds, no repository is made.
    plain = policy.actions(policy.document(None))
    optional = ("route53:", "ssm:", "secretsmanager:")  # a zone; secret references
    prebuilds = {"ecr:DescribeRepositories", "ecr:CreateRepository", "ecr:PutLifecyclePolicy"}
    left = calls - NEEDS_NO_GRANT - plain - prebuilds
    assert sorted(a for a in left if not a.startswith(optional)) == []
    assert prebuilds <= calls and not prebuilds & plain


@set_initial_no_auth_action_count(7)  # (the setup's 7 calls; then AWS's rules, as moto has them)
@mock_aws
def test_the_policy_reads_exactly_the_references_set_and_the_accounts_ecr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under podbay's policy, a user reads the secret references they set with the provider,
    and no other parameter or secret; an ECR login works."""

    # AWS's rules for reading them, not moto's (added to moto's responses: raising=False)
    cloud.strict_iam(lambda owner, name, value: monkeypatch.setattr(owner, name, value, False))
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    ssm, secrets, iam = (boto3.client(s) for s in ("ssm", "secretsmanager", "iam"))
    for name in ("/team/db", "/team/other"):
        ssm.put_parameter(Name=name, Value=f"value of {name}", Type="SecureString")
    for name in ("team/api", "team/api-admin"):
        secrets.create_secret(Name=name, SecretString=f"value of {name}")
    document = policy.document(None, ["ssm:/team/db", "secretsmanager:team/api"], "eu-west-1")
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="podbay", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName="dev")["AccessKey"]
    as_dev = {"aws_access_key_id": key["AccessKeyId"],
              "aws_secret_access_key": key["SecretAccessKey"]}  # fmt: skip
    ssm, secrets, ecr = (boto3.client(s, **as_dev) for s in ("ssm", "secretsmanager", "ecr"))
    assert ssm.get_parameter(Name="/team/db", WithDecryption=True)["Parameter"]["Value"] == (
        "value of /team/db"
    )
    assert ecr.get_authorization_token()["authorizationData"]
    with pytest.raises(ClientError) as refused:
        ssm.get_parameter(Name="/team/other", WithDecryption=True)
    assert "AccessDenied" in str(refused.value)  # (moto's SSM gives the code as "403")
    assert secrets.get_secret_value(SecretId="team/api")["SecretString"] == "value of team/api"
    with pytest.raises(ClientError) as refused:
        secrets.get_secret_value(SecretId="team/api-admin")
    assert "AccessDenied" in str(refused.value)
    # A key of the account's own decrypts them, through their two services only.
    [decrypt] = [s for s in document["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"]["StringLike"]["kms:ViaService"] == [
        "ssm.eu-west-1.amazonaws.com",
        "secretsmanager.eu-west-1.amazonaws.com",
    ]
    assert policy.size(document) < policy.MANAGED_POLICY_LIMIT
