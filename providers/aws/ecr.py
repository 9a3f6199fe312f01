"""ECR for an AWS provider: logins for its account's registries, and repositories for
prebuilds (core/prebuild.py), made with scan on push and a lifecycle policy."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from podbay.providers.aws.errors import AwsError, client_config, explain

_REGISTRY = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")
# Prebuilds are many and each is whole: keep the newest 20, and drop untagged layers' images
# (a tag pushed again) after a day.
LIFECYCLE: dict[str, Any] = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "podbay: untagged images go after a day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "podbay: keep the 20 newest prebuilds",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["podbay-"],
                "countType": "imageCountMoreThan",
                "countNumber": 20,
            },
            "action": {"type": "expire"},
        },
    ]
}


def parse_registry(registry: str) -> tuple[str, str] | None:
    """(account, region) of an ECR registry's host, or None for any other registry."""
    match = _REGISTRY.fullmatch(registry)
    return (match.group(1), match.group(2)) if match else None


def login(session: Any, registry: str, profile: str | None) -> tuple[str, str] | None:
    """A token of ecr:GetAuthorizationToken for the account's own registry (valid 12 hours,
    asked each time, never kept); None for another account's registry."""
    from botocore import exceptions as bx

    found = parse_registry(registry)
    if found is None:
        return None
    client = session.client("ecr", region_name=found[1], config=client_config())
    try:
        data = client.get_authorization_token()["authorizationData"]
    except (bx.BotoCoreError, bx.ClientError) as exc:
        raise explain(exc, profile=profile, what="ECR login") from None
    for item in data:
        endpoint = str(item.get("proxyEndpoint", "")).removeprefix("https://")
        if endpoint.rstrip("/") == registry:
            user, _, secret = base64.b64decode(item["authorizationToken"]).decode().partition(":")
            return user, secret
    return None  # another account's registry: its own endpoint, not this token's


def ensure_repository(session: Any, repository: str, create: bool, profile: str | None) -> bool:
    """Whether `repository` is in an ECR registry of the session's account; it exists, or is
    made (scan on push, immutable-free tags, the lifecycle above) when `create`."""
    from botocore import exceptions as bx

    registry, _, name = repository.partition("/")
    found = parse_registry(registry)
    if found is None:
        return False
    account, region = found
    client = session.client("ecr", region_name=region, config=client_config())
    try:
        mine = session.client("sts", config=client_config()).get_caller_identity()["Account"]
        if mine != account:
            return False
        client.describe_repositories(registryId=account, repositoryNames=[name])
        return True
    except bx.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code != "RepositoryNotFoundException":
            raise explain(exc, profile=profile, what="ECR") from None
    except bx.BotoCoreError as exc:
        raise explain(exc, profile=profile, what="ECR") from None
    if not create:
        raise AwsError(
            f"ECR has no repository {name} in {region} (account {account})",
            "add --create-repository to make it (scan on push, the newest 20 prebuilds kept)",
        )
    try:
        client.create_repository(
            repositoryName=name,
            imageScanningConfiguration={"scanOnPush": True},
            imageTagMutability="MUTABLE",
            tags=[{"Key": "podbay:purpose", "Value": "prebuilds"}],
        )
        client.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(LIFECYCLE))
    except (bx.BotoCoreError, bx.ClientError) as exc:
        raise explain(exc, profile=profile, what="ECR repository") from None
    return True
