"""The real `podbay` command reads secret references from moto_server when a local workspace's
`exec` needs them: the value reaches the command, and a missing one is one line naming it and
the region."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.aws.conftest import aws_env
from tests.conftest import IMAGE, Podbay, write_config
from tests.unit.test_cli_errors import assert_clean_error


def test_a_reference_is_read_from_aws_when_a_command_needs_it(
    podbay: Podbay,
    moto_server: str,
    needs_docker: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in aws_env(tmp_path, moto_server).items():
        monkeypatch.setitem(podbay.env, key, value)
    podbay.env.pop("AWS_PROFILE", None)
    ssm = boto3.client(
        "ssm",
        region_name="eu-west-1",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ssm.put_parameter(Name="/team/db-cli", Value="read-through-moto", Type="SecureString")
    write_config(podbay.cwd / "app", {"image": IMAGE})
    podbay.ok("up", "app")  # the local Docker provider, made the default by the first up
    podbay.ok("provider", "add", "aws", "--name", "cloud", "-o", "region=eu-west-1")
    podbay.ok("secret", "set", "DB", "--ref", "ssm:/team/db-cli", "--workspace", "app")
    assert podbay.ok("exec", "app", "--", "printenv", "DB").stdout == "read-through-moto\n"
    podbay.ok("secret", "set", "GONE", "--ref", "ssm:/team/nowhere")
    assert_clean_error(
        podbay("exec", "app", "--", "true"),
        "secret GONE: secret reference ssm:/team/nowhere: Parameter Store has no /team/nowhere "
        "in region eu-west-1",
    )
    # It does not keep the workspace from starting: its hooks run without it, with a warning.
    podbay.ok("stop", "app")
    started = podbay.ok("start", "app")
    assert "secret GONE: secret reference ssm:/team/nowhere" in started.stderr
    assert "the hooks run without it" in started.stderr
    # A provider that reads no such reference is refused when it is set, not when it is used.
    [local] = [p["name"] for p in podbay.json("provider", "list") if p["type"] == "docker"]
    assert_clean_error(
        podbay("secret", "set", "X", "--ref", "ssm:/a", "--provider", local),
        f"provider {local} (docker) does not read ssm:/a",
    )
    # The provider's policy reads exactly these references, in its region.
    document = json.loads(podbay.ok("provider", "policy", "cloud").stdout)
    [reads] = [s for s in document["Statement"] if s["Sid"] == "PodbayReadSecretParameters"]
    assert reads["Resource"] == [
        "arn:aws:ssm:eu-west-1:*:parameter/team/db-cli",
        "arn:aws:ssm:eu-west-1:*:parameter/team/nowhere",
    ]
    assert "PodbayReadSecretParameters" not in podbay.ok("provider", "policy", "aws").stdout
    # Removing the provider a reference names says which secrets read through it.
    podbay.ok("secret", "set", "VIA", "--ref", "ssm:/team/db-cli", "--provider", "cloud")
    removed = podbay.ok("provider", "remove", "cloud")
    assert "secrets VIA were read through cloud" in removed.stderr
