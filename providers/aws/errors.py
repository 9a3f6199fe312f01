"""AWS failures as one-line messages with a hint: one table, keyed by botocore's error codes."""

from __future__ import annotations

import difflib
from typing import Any

from podbay.core.errors import ProviderError

# Throttling is retried with client-side rate limiting shared by one client per process.
RETRIES = {"mode": "adaptive", "total_max_attempts": 8}


def client_config(total_max_attempts: int = 8) -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "total_max_attempts": total_max_attempts})


def check_region(region: str, available: list[str]) -> None:
    """Refuse a region that does not exist, before it becomes a DNS error; suggest the closest."""
    if region in available:
        return
    # Swapped letters (us-esat-1) are the usual typo; difflib alone would say us-west-1.
    same_letters = [r for r in available if sorted(r) == sorted(region)]
    close = same_letters or difflib.get_close_matches(region, available, n=1)
    raise ProviderError(
        f"unknown AWS region {region!r}",
        f"did you mean {close[0]}?" if close else "e.g. us-east-1, eu-west-1",
    )


class AwsError(ProviderError):
    """A failed AWS call; `code` is AWS's own error code ("" when there is none)."""

    kind = "aws"

    def __init__(self, message: str, hint: str = "", code: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


_CREDENTIALS = "run `aws configure`, `aws sso login --profile NAME`, or set AWS_PROFILE"


def explain(exc: BaseException, *, profile: str | None = None, what: str = "") -> AwsError:
    """The user-facing error for a boto3/botocore exception."""
    from botocore import exceptions as bx

    who = f"profile {profile}" if profile else "the default AWS credentials"
    if isinstance(exc, bx.NoCredentialsError):
        return AwsError("no AWS credentials found", _CREDENTIALS)
    if isinstance(exc, bx.ProfileNotFound):
        return AwsError(
            f"AWS profile {profile!r} not found", "list them with: aws configure list-profiles"
        )
    if isinstance(
        exc, bx.TokenRetrievalError | bx.SSOTokenLoadError | bx.UnauthorizedSSOTokenError
    ):
        return AwsError(
            f"the SSO session of {who} has expired", f"aws sso login --profile {profile or 'NAME'}"
        )
    if isinstance(exc, bx.EndpointConnectionError):
        return AwsError(
            f"cannot reach AWS at {exc.kwargs.get('endpoint_url', 'its endpoint')}",
            "check the network and the region",
        )
    if not isinstance(exc, bx.ClientError):
        return AwsError(f"AWS call failed: {exc}", "")
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).split(" Encoded authorization failure message")[0]
    request = exc.response.get("ResponseMetadata", {}).get("RequestId", "")
    doing = f" ({what})" if what else ""
    table: dict[str, tuple[str, str]] = {
        "ExpiredToken": (f"the AWS credentials of {who} have expired", _CREDENTIALS),
        "ExpiredTokenException": (f"the AWS credentials of {who} have expired", _CREDENTIALS),
        "RequestExpired": (f"the AWS credentials of {who} have expired", _CREDENTIALS),
        "AuthFailure": ("AWS rejected the access key", _CREDENTIALS),
        "InvalidClientTokenId": ("AWS rejected the access key", _CREDENTIALS),
        "UnauthorizedOperation": (
            f"not allowed{doing}: {message}",
            "`podbay provider policy aws` prints the IAM policy podbay needs",
        ),
        "AccessDenied": (f"not allowed{doing}: {message}", "see: podbay provider policy aws"),
        "AccessDeniedException": (
            f"not allowed{doing}: {message}",
            "see: podbay provider policy aws",
        ),
        "InsufficientInstanceCapacity": (
            f"AWS has no capacity for this instance type right now{doing}",
            "try another availability zone or instance type, or try again later",
        ),
        "VcpuLimitExceeded": (
            f"your vCPU quota is used up{doing}",
            "choose a smaller type, stop other instances, or request more in Service Quotas",
        ),
        "InvalidAMIID.NotFound": (
            f"the AMI does not exist in this region (AMIs are regional){doing}",
            "clear the ami option to use Ubuntu from Canonical",
        ),
        "InvalidAMIID.Malformed": (
            f"the AMI id is malformed{doing}",
            "AMI ids look like ami-0123abcd",
        ),
        "RequestLimitExceeded": ("AWS is throttling API calls", "try again in a minute"),
        "Throttling": ("AWS is throttling API calls", "try again in a minute"),
        "ThrottlingException": ("AWS is throttling API calls", "try again in a minute"),
        "InvalidSubnetID.NotFound": (
            f"{message or 'the subnet does not exist'}{doing}",
            "check the subnet_id option (subnets belong to one region)",
        ),
        "InvalidVpcID.NotFound": (
            f"{message or 'the VPC does not exist'}{doing}",
            "check the vpc_id option (VPCs belong to one region)",
        ),
        "InvalidGroup.NotFound": (
            f"{message or 'the security group does not exist'}{doing}",
            "check the security_group_id option, or leave it empty",
        ),
        "IdempotentParameterMismatch": (
            f"AWS refused to repeat the launch{doing}: its first try used other settings",
            "set the provider's options back, or podbay delete NAME and up again",
        ),
        "Unsupported": (
            f"{message or 'not supported here'}{doing}",
            "choose another instance type, or another zone (availability_zone option)",
        ),
        "OptInRequired": (
            f"this region is not enabled for your account{doing}",
            "enable it in the AWS console (Account > AWS Regions), or choose another region",
        ),
        "InvalidParameterCombination": (
            f"{message or 'AWS refused these settings together'}{doing}",
            "check that the instance type suits the image's architecture (x86_64 or arm64)",
        ),
        "AuthFailure.ServiceLinkedRoleCreationNotPermitted": (
            "this account has never run spot instances, and EC2's spot role may not be made",
            "once, by an administrator: "
            "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com",
        ),
        "VPCIdNotSpecified": (
            "this region has no default VPC",
            "set the subnet_id option, or run: aws ec2 create-default-vpc",
        ),
    }
    if code in table:
        text, hint = table[code]
        return AwsError(text, hint, code)
    return AwsError(
        f"AWS {code or 'error'}{doing}: {message or exc}",
        f"request id {request}" if request else "",
        code,
    )
