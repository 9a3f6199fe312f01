"""Read secret references on a workspace's VM with its instance profile (an AWS provider's
`secrets_on_vm`). podbay runs this there over its SSH connection, as
`python3 -I -c <this file> REGION [--imds URL] [--endpoint URL] REFERENCE...`, with Python's
standard library only: an Ubuntu image has python3 but no AWS SDK.

The role's credentials come from the instance metadata service (IMDSv2: a session token
first, as podbay's instances require); each reference is one request signed with them
(Signature Version 4) to Parameter Store or Secrets Manager in REGION. It prints one JSON
object, reference -> {"value": ...} or {"error": CODE, "message": ...}, and writes nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

TIMEOUT = 10
RETRIES = 2
PASSING = {"Unreachable", "InternalServerError", "InternalFailure", "ServiceUnavailable"}
# Parameter Store and Secrets Manager: (service, the JSON API's target, the request body)
CALLS: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
    "ssm": ("ssm", "AmazonSSM.GetParameter", lambda name: {"Name": name, "WithDecryption": True}),
    "secretsmanager": ("secretsmanager", "secretsmanager.GetSecretValue",
                       lambda name: {"SecretId": name}),
}  # fmt: skip


class Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def credentials(imds: str) -> tuple[str, str, str]:
    """(access key, secret key, session token) of the instance profile's role."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

    def ask(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> str:
        request = urllib.request.Request(imds + path, method=method, headers=headers or {})
        with direct.open(request, timeout=2) as answer:
            return str(answer.read().decode())

    try:
        token = ask("/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        header = {"X-aws-ec2-metadata-token": token}
        base = "/latest/meta-data/iam/security-credentials/"
        roles = ask(base, headers=header).split()
        if not roles:
            raise Failed("NoInstanceProfile", "the machine has no instance profile")
        found = json.loads(ask(base + roles[0], headers=header))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise Failed("NoInstanceProfile", "the machine has no instance profile") from None
        raise Failed("NoMetadata", f"instance metadata answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise Failed("NoMetadata", f"instance metadata did not answer ({exc})") from None
    if not isinstance(found, dict):
        raise Failed("NoMetadata", "instance metadata gave no credentials")
    if found.get("Code", "Success") != "Success" or "AccessKeyId" not in found:
        # e.g. AssumeRoleUnauthorizedAccess: the role's trust policy does not name EC2
        said = f"{found.get('Code')}: {found.get('Message', '')}"
        raise Failed("RoleCredentials", said)
    return str(found["AccessKeyId"]), str(found["SecretAccessKey"]), str(found.get("Token", ""))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed_post(
    url: str,
    region: str,
    service: str,
    target: str,
    body: dict[str, Any],
    keys: tuple[str, str, str],
) -> dict[str, Any]:
    """POST `body` (JSON 1.1) to `url`, signed for `service` in `region` with `keys`."""
    access, secret, token = keys
    parts = urllib.parse.urlsplit(url)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    payload = json.dumps(body).encode()
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": parts.netloc,
        "x-amz-date": stamp,
        "x-amz-target": target,
    }
    if token:
        headers["x-amz-security-token"] = token
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        ["POST", parts.path or "/", parts.query,
         "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), names, _sha256(payload)]
    )  # fmt: skip
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    text = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, _sha256(canonical.encode())])
    key = ("AWS4" + secret).encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={names}, "
        f"Signature={signature}"
    )
    del headers["host"]  # (urllib sends it, as signed)
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            found: dict[str, Any] = json.loads(answer.read())
            return found
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        try:
            error = json.loads(text or "{}")
        except ValueError:  # (an XML error, as a signature's refusal may be)
            found_code = re.search(r"<Code>(\w+)</Code>", text)
            error = {"__type": found_code.group(1)} if found_code else {}
        code = str(error.get("__type") or error.get("code") or exc.code).rsplit("#", 1)[-1]
        if "AccessDenied" in code or code == "403":  # (moto says 403 alone)
            code = "AccessDenied"
        message = str(error.get("message") or error.get("Message") or exc.reason)
        raise Failed(code, message) from None
    except OSError as exc:
        raise Failed("Unreachable", f"{url} did not answer ({exc})") from None


def read(reference: str, region: str, endpoint: str, keys: tuple[str, str, str]) -> str:
    kind, _, name = reference.partition(":")
    service, target, body = CALLS[kind]
    url = endpoint or f"https://{service}.{region}.amazonaws.com/"
    for attempt in range(RETRIES + 1):
        try:
            answer = signed_post(url, region, service, target, body(name), keys)
            break
        except Failed as exc:
            # Throttled, or a passing fault of AWS's or the network's: again, after a while.
            passing = "Throttl" in exc.code or exc.code[:1] == "5" or exc.code in PASSING
            if not passing or attempt == RETRIES:
                raise
            time.sleep(0.5 * 2**attempt)
    if kind == "ssm":
        return str(answer["Parameter"]["Value"])
    return str(answer.get("SecretString") or "")


def main(argv: list[str]) -> None:
    region, rest = argv[0], argv[1:]
    options = {"--imds": "http://169.254.169.254", "--endpoint": ""}
    while rest and rest[0] in options:
        options[rest[0]] = rest[1]
        rest = rest[2:]
    found: dict[str, dict[str, str]] = {}
    try:
        keys = credentials(options["--imds"])
    except Failed as exc:
        keys, failed = None, {"error": exc.code, "message": exc.message}
    for reference in rest:
        try:
            if keys is None:
                found[reference] = failed
            else:
                found[reference] = {"value": read(reference, region, options["--endpoint"], keys)}
        except Failed as exc:
            found[reference] = {"error": exc.code, "message": exc.message}
    sys.stdout.write(json.dumps(found))


main(sys.argv[1:])
