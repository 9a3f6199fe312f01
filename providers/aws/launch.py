"""What podbay asks EC2 for when it launches a workspace's instance: tags and RunInstances input."""

from __future__ import annotations

from typing import Any

from podbay.providers.aws.ami import Ami
from podbay.providers.aws.network import Placement
from podbay.providers.aws.options import AwsOptions

TAG_MANAGED = "managed-by"
TAG_WORKSPACE = "podbay:workspace"
TAG_HOME = "podbay:home"


def workspace_tags(extra: dict[str, str], workspace: str, install_id: str) -> list[dict[str, str]]:
    """The user's extra tags plus podbay's own (which win), in EC2's Key/Value shape."""
    merged = {
        **extra,
        TAG_MANAGED: "podbay",
        TAG_WORKSPACE: workspace,
        TAG_HOME: install_id,
        "Name": f"podbay-{workspace}",
    }
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def launch_params(
    opts: AwsOptions,
    image: Ami,
    placement: Placement,
    *,
    security_group_id: str,
    tags: list[dict[str, str]],
    client_token: str,
    user_data: str,
) -> dict[str, Any]:
    """RunInstances' keyword arguments: IMDSv2 only, an encrypted gp3 root deleted with the
    instance, podbay's tags on everything it creates, and the ClientToken that makes it one."""
    tagged = ["instance", "volume", "network-interface"]
    params: dict[str, Any] = {
        "ImageId": image.image_id,
        "InstanceType": opts.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "SubnetId": placement.subnet_id,
        "SecurityGroupIds": [security_group_id],
        "UserData": user_data,
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": opts.root_device or image.root_device,
                "Ebs": {
                    "VolumeSize": opts.disk_gb,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": [{"ResourceType": kind, "Tags": tags} for kind in tagged],
        "ClientToken": client_token,
        "InstanceInitiatedShutdownBehavior": "stop",
    }
    if opts.instance_profile_arn:
        params["IamInstanceProfile"] = {"Arn": opts.instance_profile_arn}
    if opts.spot:
        params["InstanceMarketOptions"] = {
            "MarketType": "spot",
            "SpotOptions": {
                "SpotInstanceType": "persistent",
                "InstanceInterruptionBehavior": "stop",
            },
        }
        params["TagSpecifications"].append({"ResourceType": "spot-instances-request", "Tags": tags})
    return params
