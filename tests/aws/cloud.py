"""AWS as a VM sees it, for secrets read on the machine (assets/aws/read_secrets.py): moto as a
server that checks signatures and IAM policies as AWS does (once the setup's calls are made),
and the instance metadata service (IMDSv2) handing out a role's temporary credentials.

A process of its own (`python -m tests.aws.cloud`, see main): on 127.0.0.1 for a test of the
reader alone, or in a container beside a stand-in instance, where the VM's programs reach it.
The role's credentials are read from a file the test writes once it made the role.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROLE = "podbay-workspace-vm"
TOKEN = "imds-session-token"


def strict_iam(patch: Callable[[Any, str, Any], None]) -> None:
    """moto's IAM checks as AWS makes them, for reading parameters and secrets (`patch` is
    setattr, or pytest's monkeypatch.setattr that may add an attribute)."""
    from moto.iam.access_control import IAMPolicyStatement
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    # moto reads `*` in a resource but not `?` (one character, as AWS documents it; its regex
    # fails on `-??????`, the suffix Secrets Manager adds to a secret's ARN): AWS's rule here.
    def aws_match(pattern: str, string: str) -> re.Match[str] | None:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, string, re.DOTALL)

    patch(IAMPolicyStatement, "_match", staticmethod(aws_match))

    # moto asks SSM's and Secrets Manager's permissions of no resource ("*"), so a grant scoped
    # to a parameter or a secret is refused there: AWS asks them of the one named.
    def parameter_arn(self: SimpleSystemManagerResponse) -> str:
        found = self.ssm_backend.get_parameter(str(self._get_param("Name") or ""))
        return "*" if found is None else f"{self.ssm_backend.ssm_prefix}{found.name}"

    def secret_arn(self: SecretsManagerResponse) -> str:
        secret_id = str(self._get_param("SecretId") or "")
        found = self.backend.secrets.get(secret_id) if secret_id else None
        return "*" if found is None else str(found.arn)

    patch(SimpleSystemManagerResponse, "_determine_resource", parameter_arn)
    patch(SecretsManagerResponse, "_determine_resource", secret_arn)


def metadata_handler(credentials: Callable[[], dict[str, str] | None]) -> type:
    """IMDSv2: a PUT for a session token, then GETs with it; `credentials` gives the role's
    (None: the instance has no profile, and the role list is 404 as on EC2)."""

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            if self.path != "/latest/api/token" or not self.headers.get(
                "X-aws-ec2-metadata-token-ttl-seconds"
            ):
                return self._answer(400, "")
            self._answer(200, TOKEN)

        def do_GET(self) -> None:
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self._answer(401, "")  # IMDSv1 is off on podbay's instances
            base = "/latest/meta-data/iam/security-credentials/"
            found = credentials()
            if found is None or not self.path.startswith(base):
                return self._answer(404, "")
            if self.path == base:
                return self._answer(200, ROLE)
            if self.path != base + ROLE:
                return self._answer(404, "")
            self._answer(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC", **found}))

        def _answer(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def role_credentials(endpoint: str, policy: dict[str, Any]) -> dict[str, str]:
    """An instance role with `policy` in moto at `endpoint`, assumed: its temporary
    credentials, as the metadata service hands them out."""
    import boto3

    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **keys)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="podbay", PolicyDocument=json.dumps(policy))
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", **keys)
    found = sts.assume_role(RoleArn=arn, RoleSessionName="i-standin")["Credentials"]
    return {
        "AccessKeyId": found["AccessKeyId"],
        "SecretAccessKey": found["SecretAccessKey"],
        "Token": found["SessionToken"],
        "Expiration": found["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def enforce(endpoint: str) -> None:
    """From now on, moto checks every request's signature and the caller's policies."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},  # (a form's body is not moto's to read)
    )
    urllib.request.urlopen(request, timeout=10).close()


def main() -> None:
    """`python -m tests.aws.cloud CREDENTIALS_FILE [ADDRESS [MOTO_PORT METADATA_PORT]]`:
    prints `ready MOTO_PORT METADATA_PORT` once both answer (port 0: any free one)."""
    from moto.server import ThreadedMotoServer

    credentials = Path(sys.argv[1])
    address = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    ports = [int(p) for p in sys.argv[3:5]] or [0, 0]
    strict_iam(setattr)
    moto = ThreadedMotoServer(address, ports[0], verbose=False)
    moto.start()

    def read() -> dict[str, str] | None:
        try:
            found: dict[str, str] = json.loads(credentials.read_text())
            return found
        except (OSError, ValueError):
            return None

    metadata = ThreadingHTTPServer((address, ports[1]), metadata_handler(read))
    threading.Thread(target=metadata.serve_forever, daemon=True).start()
    print("ready", moto.get_host_and_port()[1], metadata.server_address[1], flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
