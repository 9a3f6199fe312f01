"""The least-privilege IAM policy podbay needs: the bundled statements; Route 53 only for
the configured zone (A records named `*.<zone>`), only when a zone is configured; pulls from
the account's ECR (a private image or FROM line); and reading exactly the secret references
the user set with the provider (`podbay secret set NAME --ref ...`), in its region: by the
user, or with `secrets_on_vm` by the workspace VM's instance role (`instance_role_document`),
which the user then passes to EC2 (iam:PassRole)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any


def document(
    route53_zone: str | None = None,
    references: Sequence[str] = (),
    region: str | None = None,
    ecr: bool = True,
    instance_profile: str | None = None,
    prebuilds: bool = False,
) -> dict[str, Any]:
    """The policy for these options; `route53_zone` is a name that `zone_name` accepted;
    `references` are secret references as core/secrets_store.py checked them (those the
    user reads); `instance_profile` the ARN of the VMs' instance profile, if any; `prebuilds`
    for whoever pushes prebuilds to the account's ECR (`podbay prebuild`)."""
    policy: dict[str, Any] = json.loads(
        resources.files("podbay.assets").joinpath("aws/policy.json").read_text()
    )
    if route53_zone:
        policy["Statement"] += _route53(route53_zone)
    if ecr:
        policy["Statement"] += ECR
    if ecr and prebuilds:
        policy["Statement"] += ECR_PREBUILDS
    if instance_profile:
        policy["Statement"] += _pass_role(instance_profile)
    policy["Statement"] += _references(references, region or "*")
    return policy


def instance_role_document(references: Sequence[str], region: str | None) -> dict[str, Any]:
    """The policy of the VMs' instance role when they read the secret references themselves
    (`secrets_on_vm`): exactly those, in the provider's region."""
    return {"Version": "2012-10-17", "Statement": _references(references, region or "*")}


def _pass_role(instance_profile: str) -> list[dict[str, Any]]:
    """Launching with an instance profile passes its role to EC2. The role's name is not in
    the profile's ARN, so any role of the profile's account, and only to EC2."""
    account = instance_profile.split(":")[4] if instance_profile.count(":") >= 5 else ""
    return [
        {
            "Sid": "PodbayPassTheInstanceRoleToEc2",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{account or '*'}:role/*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        }
    ]


# Optional: only a private image of the account's ECR needs them (the deep check leaves them).
ECR = [
    {
        "Sid": "PodbayEcrLogin",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",  # the action takes no resource
    },
    {
        "Sid": "PodbayEcrPullOfTheAccount",
        "Effect": "Allow",
        "Action": [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:ListImages",  # the tags of a repository: podbay prebuild --list
        ],
        "Resource": "arn:aws:ecr:*:*:repository/*",
        # The account's own repositories (the ARN cannot name an account it does not know).
        "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
    },
]


# Only for who pushes prebuilds (podbay provider policy NAME --prebuilds): repositories
# checked or made with their lifecycle policy and tags, images pushed.
ECR_PREBUILDS = [
    {
        "Sid": "PodbayEcrPrebuildPushes",
        "Effect": "Allow",
        "Action": [
            "ecr:DescribeRepositories",
            "ecr:CreateRepository",
            "ecr:TagResource",
            "ecr:PutLifecyclePolicy",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage",
        ],
        "Resource": "arn:aws:ecr:*:*:repository/*",
        "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
    },
]


def _references(references: Sequence[str], region: str) -> list[dict[str, Any]]:
    """Read access to each reference alone: a Parameter Store parameter by its ARN, a Secrets
    Manager secret by its name and the six characters AWS adds to its ARN."""
    parameters = sorted(
        {f"arn:aws:ssm:{region}:*:parameter{r.removeprefix('ssm:')}" for r in references
         if r.startswith("ssm:/")}
    )  # fmt: skip
    secrets = sorted(
        {f"arn:aws:secretsmanager:{region}:*:secret:{r.removeprefix('secretsmanager:')}-??????"
         for r in references if r.startswith("secretsmanager:")}
    )  # fmt: skip
    statements: list[dict[str, Any]] = []
    if parameters:
        statements.append(
            {
                "Sid": "PodbayReadSecretParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": parameters,
            }
        )
    if secrets:
        statements.append(
            {
                "Sid": "PodbayReadSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secrets,
            }
        )
    if parameters or secrets:
        # A value encrypted with a key of the account's own (not AWS's default) is decrypted
        # for the reader: only through these two services.
        services = [f"{s}.{region}.amazonaws.com" for s in ("ssm", "secretsmanager")]
        statements.append(
            {
                "Sid": "PodbayDecryptSecretsThroughTheirService",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": f"arn:aws:kms:{region}:*:key/*",
                "Condition": {"StringLike": {"kms:ViaService": services}},
            }
        )
    return statements


# What IAM holds in one managed policy, whitespace left out.
MANAGED_POLICY_LIMIT = 6144


def size(policy: dict[str, Any]) -> int:
    return len(json.dumps(policy, separators=(",", ":")))


def _route53(zone: str) -> list[dict[str, Any]]:
    return [
        {
            # Any hosted zone may be named `zone` (public and private twins); the names and
            # the record type keep podbay to its own A records under it.
            "Sid": "PodbayRoute53ARecordsInItsZone",
            "Effect": "Allow",
            "Action": "route53:ChangeResourceRecordSets",
            "Resource": "arn:aws:route53:::hostedzone/*",
            "Condition": {
                "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["A"]},
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"*.{zone}"]
                },
            },
        },
        {
            "Sid": "PodbayRoute53Read",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZonesByName", "route53:ListResourceRecordSets"],
            "Resource": "*",
        },
    ]


def actions(policy: dict[str, Any]) -> set[str]:
    """Every action the policy allows somewhere."""
    found: set[str] = set()
    for statement in policy["Statement"]:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found
