"""AWS errors become one line and a hint. Real botocore clients; AWS's answers are injected with
botocore's before-send hook, so parsing and the retry logic (adaptive mode) really run."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, NoCredentialsError

from podbay.core.errors import ProviderError
from podbay.providers.aws.errors import check_region, client_config, explain


def ec2_error(code: str, message: str, status: int) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>"
    ).encode()


class RawBody:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def client_answering(answers: list[tuple[int, bytes]], attempts: int = 3) -> tuple[Any, list[int]]:
    """An EC2 client whose requests get these answers in turn (the last one repeats)."""
    client = boto3.client(
        "ec2",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=client_config(total_max_attempts=attempts),
    )
    sent: list[int] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        status, body = answers[min(len(sent), len(answers) - 1)]
        sent.append(status)
        return AWSResponse(request.url, status, {}, RawBody(body))

    client.meta.events.register("before-send.ec2.*", answer)
    return client, sent


OK = (200, b"<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>")


@pytest.mark.parametrize(
    ("code", "status", "words", "hint"),
    [
        (
            "UnauthorizedOperation",
            403,
            "not allowed (listing regions): You are not authorized",
            "podbay provider policy aws",
        ),
        ("InsufficientInstanceCapacity", 500, "no capacity", "another availability zone"),
        ("VcpuLimitExceeded", 400, "vCPU quota", "Service Quotas"),
        ("InvalidAMIID.NotFound", 400, "does not exist in this region", "clear the ami option"),
        ("RequestExpired", 400, "have expired", "aws sso login"),
        ("AuthFailure", 401, "rejected the access key", "aws configure"),
        ("VPCIdNotSpecified", 400, "no default VPC", "create-default-vpc"),
        ("IdempotentParameterMismatch", 400, "first try used other settings", "options back"),
        ("OptInRequired", 401, "region is not enabled", "AWS Regions"),
        ("Unsupported", 400, "You are not authorized", "availability_zone option"),
        ("InvalidParameterCombination", 400, "You are not authorized", "architecture"),
        (
            "AuthFailure.ServiceLinkedRoleCreationNotPermitted",
            403,
            "never run spot instances",
            "create-service-linked-role --aws-service-name spot.amazonaws.com",
        ),
    ],
)
def test_error_codes(code: str, status: int, words: str, hint: str) -> None:
    message = (
        "You are not authorized to perform this operation. "
        "Encoded authorization failure message: xyz"
    )
    client, _ = client_answering([(status, ec2_error(code, message, status))])
    with pytest.raises(ClientError) as info:
        client.describe_regions()
    error = explain(info.value, what="listing regions")
    assert words in error.message
    assert hint in error.hint
    assert "Encoded authorization" not in error.message


def test_throttling_is_retried_adaptively_then_succeeds() -> None:
    throttled = (503, ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503))
    client, sent = client_answering([throttled, throttled, OK], attempts=5)
    client.describe_regions()
    assert sent == [503, 503, 200]


def test_throttling_that_does_not_stop_becomes_a_clear_error() -> None:
    throttled = (503, ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503))
    client, sent = client_answering([throttled], attempts=2)
    with pytest.raises(ClientError) as info:
        client.describe_regions()
    assert len(sent) == 2
    assert explain(info.value).message == "AWS is throttling API calls"


def test_unknown_code_keeps_code_message_and_request_id() -> None:
    client, _ = client_answering([(400, ec2_error("Weird.Thing", "something odd", 400))])
    with pytest.raises(ClientError) as info:
        client.describe_regions()
    error = explain(info.value)
    assert error.message == "AWS Weird.Thing: something odd"
    assert error.hint == "request id req-1"


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("sts", region_name="us-east-1")
    with pytest.raises(NoCredentialsError) as info:
        client.get_caller_identity()
    error = explain(info.value)
    assert error.message == "no AWS credentials found"
    assert "aws sso login" in error.hint


def test_unknown_region_suggests_the_closest() -> None:
    regions = boto3.Session().get_available_regions("ec2")
    check_region("eu-west-1", regions)
    with pytest.raises(ProviderError) as info:
        check_region("us-esat-1", regions)
    assert info.value.message == "unknown AWS region 'us-esat-1'"
    assert info.value.hint == "did you mean us-east-1?"
