"""What podbay asks EC2 for when it launches an instance, checked as data, without moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from podbay.providers.aws import userdata
from podbay.providers.aws.ami import Ami
from podbay.providers.aws.launch import launch_params, workspace_tags
from podbay.providers.aws.network import Placement
from podbay.providers.aws.options import AwsOptions

IMAGE = Ami("ami-0a0000000000noble", "ubuntu-noble-24.04", "/dev/sda1", "x86_64")
WHERE = Placement("subnet-0123", "vpc-0123", "eu-west-1a")
CLIENT_PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClientKeyOnly podbay client key for box"
HOST_PRIVATE = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nmachinehostkey\n-----END OPENSSH PRIVATE KEY-----"
)


def _params(token: str = "podbay-token-1", **options: Any) -> dict[str, Any]:
    opts = AwsOptions(region="eu-west-1", **options)
    script = userdata.render(
        client_public_key=CLIENT_PUBLIC, host_private_key=HOST_PRIVATE, idle_minutes=30
    )
    return launch_params(
        opts,
        IMAGE,
        WHERE,
        security_group_id="sg-0123",
        tags=workspace_tags(opts.tags, "box", "home-1234"),
        client_token=token,
        user_data=script,
    )


def _tags(spec: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in spec["Tags"]}


def test_one_instance_of_the_chosen_type_from_the_image_in_the_subnet_and_group() -> None:
    params = _params(instance_type="c7g.large")
    assert params["InstanceType"] == "c7g.large"
    assert params["ImageId"] == "ami-0a0000000000noble"
    assert (params["MinCount"], params["MaxCount"]) == (1, 1)
    assert params["SubnetId"] == "subnet-0123"
    assert params["SecurityGroupIds"] == ["sg-0123"]
    # Shutting down from inside (the inactivity watchdog) stops the VM; it never terminates it.
    assert params["InstanceInitiatedShutdownBehavior"] == "stop"
    assert _params()["InstanceType"] == "t3.medium"  # the default


def test_the_root_disk_is_encrypted_gp3_of_the_chosen_size_and_goes_with_the_instance() -> None:
    (root,) = _params(disk_gb=100)["BlockDeviceMappings"]
    assert root == {
        "DeviceName": "/dev/sda1",  # the image's own root device
        "Ebs": {
            "VolumeSize": 100,
            "VolumeType": "gp3",
            "Encrypted": True,
            "DeleteOnTermination": True,
        },
    }
    assert _params()["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 40  # the default
    renamed = _params(root_device="/dev/xvda")["BlockDeviceMappings"][0]
    assert renamed["DeviceName"] == "/dev/xvda"


def test_the_metadata_service_requires_imdsv2_tokens_and_one_hop() -> None:
    assert _params()["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
    }


def test_instance_disk_and_network_interface_carry_tags_naming_the_workspace() -> None:
    specs = _params(tags={"team": "infra", "managed-by": "someone-else"})["TagSpecifications"]
    assert [s["ResourceType"] for s in specs] == ["instance", "volume", "network-interface"]
    for spec in specs:
        assert _tags(spec) == {
            "team": "infra",  # the user's extra tag is kept
            "managed-by": "podbay",  # but podbay's own tags win: gc and status find it by them
            "podbay:workspace": "box",
            "podbay:home": "home-1234",
            "Name": "podbay-box",
        }


def test_the_client_token_is_passed_as_given() -> None:
    assert _params(token="podbay-abc")["ClientToken"] == "podbay-abc"
    assert _params(token="podbay-def")["ClientToken"] == "podbay-def"


def test_spot_is_persistent_stops_on_interruption_and_its_request_is_tagged() -> None:
    assert "InstanceMarketOptions" not in _params()
    params = _params(spot=True)
    assert params["InstanceMarketOptions"] == {
        "MarketType": "spot",
        "SpotOptions": {"SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop"},
    }
    request = params["TagSpecifications"][-1]
    assert request["ResourceType"] == "spot-instances-request"
    assert _tags(request)["podbay:workspace"] == "box"


def test_no_credentials_reach_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret/example/never-sent-0000")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-never-sent-0000")
    params = _params()
    sent = json.dumps(params)
    for secret in ("AKIAEXAMPLEKEYID0000", "never-sent-0000", "AWS_SECRET", "aws_secret"):
        assert secret not in sent
    # No IAM role unless the user names one; then exactly that one.
    assert "IamInstanceProfile" not in params
    arn = "arn:aws:iam::111122223333:instance-profile/dev"
    assert _params(instance_profile_arn=arn)["IamInstanceProfile"] == {"Arn": arn}
    # User data holds the public client key and the machine's own host key, and nothing else.
    user_data = params["UserData"]
    assert CLIENT_PUBLIC in user_data
    assert "machinehostkey" in user_data
    assert user_data.count("PRIVATE KEY-----") == 2  # the machine host key's two armour lines
