"""AMI lookup as it runs on AWS: Canonical's owner id and name scheme, newest first."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest

from podbay.core.errors import ProviderError
from podbay.providers.aws import ami as amis


def newest_ubuntu(ec2: Any, **wanted: str) -> amis.Ami:
    async def call(service: str, operation: str, **params: Any) -> Any:
        return getattr(ec2, operation)(**params)

    return asyncio.run(amis.newest_ubuntu(call, ec2.meta.region_name, **wanted))


def test_newest_noble_from_canonical_not_the_newer_impostor(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ami = newest_ubuntu(ec2)
    assert ami.image_id == "ami-0a0000000000noble"  # the impostor's image is newer, and ignored
    assert ami.name.endswith("20260901")
    assert ami.root_device == "/dev/sda1"


def test_architecture_and_version(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    assert newest_ubuntu(ec2, architecture="arm64").image_id == "ami-0c0000000000noble"
    assert newest_ubuntu(ec2, version="22.04").image_id == "ami-0d000000000jammy"
    with pytest.raises(ProviderError) as info:
        newest_ubuntu(ec2, version="22.04", architecture="arm64")
    assert "no Ubuntu 22.04 arm64 image from Canonical in us-east-1" in info.value.message
    assert "ami option" in info.value.hint
