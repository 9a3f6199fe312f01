"""The least-privilege IAM policy podbay needs: the bundled statements, and Route 53 only for
the configured zone (A records named `*.<zone>`), only when a zone is configured."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def document(route53_zone: str | None = None) -> dict[str, Any]:
    """The policy for these options; `route53_zone` is a name that `zone_name` accepted."""
    policy: dict[str, Any] = json.loads(
        resources.files("podbay.assets").joinpath("aws/policy.json").read_text()
    )
    if route53_zone:
        policy["Statement"] += _route53(route53_zone)
    return policy


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
