"""Options of an AWS provider; the TUI's provider form is generated from this model."""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from podbay.core.provider import ProviderOptions

CANONICAL_OWNER = "099720109477"
INSTANCE_PROFILE = re.compile(r"arn:aws:iam::\d{12}:instance-profile/[\w+=,.@/-]{1,512}")


# Offered in the setup form: current general-purpose, compute and burstable types, Intel and
# Graviton (arm64: podbay picks the arm64 Ubuntu image for them), smallest first. Any type
# can be typed; the price comes from AWS's Price List, not from this list.
SUGGESTED_TYPES = (
    "t3.medium",
    "t3.large",
    "t3.xlarge",
    "t4g.medium",
    "t4g.large",
    "t4g.xlarge",
    "m7i.large",
    "m7i.xlarge",
    "m7i.2xlarge",
    "m7g.large",
    "m7g.xlarge",
    "m7g.2xlarge",
    "c7i.xlarge",
    "c7i.2xlarge",
    "c7g.xlarge",
    "c7g.2xlarge",
    "r7i.large",
    "g5.xlarge",
)

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"


def zone_name(value: str | None) -> str | None:
    """A Route 53 zone option as a lower-case name without the final dot; None when unset."""
    if not value:
        return None
    zone = value.lower().rstrip(".")
    if len(zone) > 253 or not re.fullmatch(rf"{_LABEL}(\.{_LABEL})+", zone):
        raise ValueError("a hosted zone is a domain name like dev.example.com")
    return zone


class AwsOptions(ProviderOptions):
    GROUPS: ClassVar[tuple[str, ...]] = ("Instance", "Network", "Access", "Cost")

    # The setup asks for the "Account" group with the required options (its step 2); the
    # others are collapsible groups of its step 3, in this order.
    region: str = Field(
        json_schema_extra={"group": "Account"}, description="AWS region, e.g. us-east-1"
    )
    profile: str | None = Field(
        json_schema_extra={"group": "Account"},
        default=None,
        description="Profile of your AWS config (SSO included); empty: the default chain",
    )
    instance_type: str = Field(
        json_schema_extra={"group": "Instance"},
        default="t3.medium",
        description="EC2 instance type",
    )
    disk_gb: int = Field(
        json_schema_extra={"group": "Instance"},
        default=40,
        ge=8,
        le=16384,
        description="Root volume size (gp3, encrypted)",
    )
    vpc_id: str | None = Field(
        json_schema_extra={"group": "Network"},
        default=None,
        description="VPC; empty: the default VPC",
    )
    subnet_id: str | None = Field(
        json_schema_extra={"group": "Network"},
        default=None,
        description="Subnet; empty: a default subnet",
    )
    availability_zone: str | None = Field(
        json_schema_extra={"group": "Network"}, default=None, description="Availability zone to use"
    )
    security_group_id: str | None = Field(
        json_schema_extra={"group": "Network"},
        default=None,
        description="Security group; empty: podbay creates and removes its own",
    )
    ami: str | None = Field(
        json_schema_extra={"group": "Instance"},
        default=None,
        description="AMI id; empty: the newest Ubuntu 24.04 LTS from Canonical",
    )
    ubuntu_version: Literal["24.04", "22.04"] = Field(
        json_schema_extra={"group": "Instance"},
        default="24.04",
        description="Ubuntu LTS to look up when no AMI is given",
    )
    root_device: str | None = Field(
        json_schema_extra={"group": "Instance"},
        default=None,
        description="Root device name; empty: the AMI's own (/dev/sda1 on Ubuntu)",
    )
    spot: bool = Field(
        json_schema_extra={"group": "Cost"},
        default=False,
        description="Spot instance (persistent, stops on interruption)",
    )
    tags: dict[str, str] = Field(
        json_schema_extra={"group": "Cost"},
        default_factory=dict,
        description="Extra tags on everything podbay creates",
    )
    instance_profile_arn: str | None = Field(
        json_schema_extra={"group": "Access"},
        default=None,
        description="IAM instance profile for the VM; none by default",
    )
    secrets_on_vm: bool = Field(
        json_schema_extra={"group": "Access"},
        default=False,
        description="Read ssm:/secretsmanager: secrets on the VM with its instance profile",
    )
    route53_zone: str | None = Field(
        json_schema_extra={"group": "Network"},
        default=None,
        description="Route53 hosted zone for an A record per workspace",
    )
    inactivity_minutes: int = Field(
        json_schema_extra={"group": "Cost"},
        default=30,
        ge=5,
        description="Power the VM off after this long without an SSH session",
    )
    ssh_ingress_cidr: str | None = Field(
        json_schema_extra={"group": "Network"},
        default=None,
        description="Who may reach SSH; empty: your own public address /32",
    )

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", value):
            raise ValueError("a region looks like us-east-1")
        return value

    @field_validator("ssh_ingress_cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError("write an address range like 203.0.113.7/32") from None

    @field_validator("instance_profile_arn")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not INSTANCE_PROFILE.fullmatch(value):
            raise ValueError(
                "an instance profile's ARN looks like "
                "arn:aws:iam::123456789012:instance-profile/NAME"
            )
        return value

    @model_validator(mode="after")
    def _reads_on_vm(self) -> AwsOptions:
        if self.secrets_on_vm and not self.instance_profile_arn:
            raise ValueError(
                "secrets_on_vm reads with the VM's instance profile: set instance_profile_arn too"
            )
        return self

    @field_validator("route53_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return zone_name(value)

    @field_validator("instance_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", value):
            raise ValueError("an instance type looks like t3.medium")
        return value
