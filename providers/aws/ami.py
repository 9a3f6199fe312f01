"""The newest Ubuntu LTS AMI from Canonical (owner 099720109477), never from anyone else.

DevPod's AWS provider filters by description with owners amazon/self, which finds nothing since
Canonical changed its descriptions (and would trust an impostor's image). podbay asks for
Canonical's owner id and Canonical's name pattern, and takes the newest by creation date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podbay.core.errors import ProviderError
from podbay.providers.aws.network import Call
from podbay.providers.aws.options import CANONICAL_OWNER, AwsOptions

_NAMES = {
    "24.04": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{arch}-server-*",
    "22.04": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-{arch}-server-*",
}
_ARCH_IN_NAME = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class Ami:
    image_id: str
    name: str
    root_device: str
    architecture: str


async def newest_ubuntu(
    call: Call, region: str, version: str = "24.04", architecture: str = "x86_64"
) -> Ami:
    """Look the AMI up in the region `call` works in (AMIs are regional); through `call`, so a
    refusal reads as every other AWS error does."""
    pattern = _NAMES[version].format(arch=_ARCH_IN_NAME[architecture])
    found = await call(
        "ec2",
        "describe_images",
        Owners=[CANONICAL_OWNER],
        Filters=[
            {"Name": "name", "Values": [pattern]},
            {"Name": "architecture", "Values": [architecture]},
            {"Name": "state", "Values": ["available"]},
            {"Name": "root-device-type", "Values": ["ebs"]},
            {"Name": "virtualization-type", "Values": ["hvm"]},
        ],
    )
    images: list[dict[str, Any]] = found.get("Images") or []
    # The owner filter is the security boundary; check it again rather than trust the call.
    images = [i for i in images if i.get("OwnerId") == CANONICAL_OWNER]
    if not images:
        raise ProviderError(
            f"no Ubuntu {version} {architecture} image from Canonical in {region}",
            "set the ami option to an AMI id of that region",
        )
    newest = max(images, key=lambda i: i.get("CreationDate", ""))
    return Ami(
        image_id=newest["ImageId"],
        name=newest["Name"],
        root_device=newest.get("RootDeviceName") or "/dev/sda1",
        architecture=newest.get("Architecture", architecture),
    )


async def for_launch(call: Call, opts: AwsOptions) -> Ami:
    """The `ami` option's image, else the newest Ubuntu for the instance type's architecture."""
    if opts.ami:
        found = await call("ec2", "describe_images", ImageIds=[opts.ami])
        images = found.get("Images") or []
        if not images:
            raise ProviderError(f"AMI {opts.ami} not found in {opts.region}", "")
        image = images[0]
        return Ami(
            image["ImageId"],
            image.get("Name", ""),
            image.get("RootDeviceName") or "/dev/sda1",
            image.get("Architecture", "x86_64"),
        )
    types = await call("ec2", "describe_instance_types", InstanceTypes=[opts.instance_type])
    archs = (
        (types.get("InstanceTypes") or [{}])[0]
        .get("ProcessorInfo", {})
        .get("SupportedArchitectures", ["x86_64"])
    )
    arch = "arm64" if "arm64" in archs and "x86_64" not in archs else "x86_64"
    return await newest_ubuntu(call, opts.region, opts.ubuntu_version, arch)
