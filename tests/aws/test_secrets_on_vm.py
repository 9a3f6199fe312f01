"""Secrets read on the workspace's VM (`secrets_on_vm`): the reader podbay runs there
(assets/aws/read_secrets.py) takes the instance role's credentials from the metadata service
(IMDSv2) and signs its requests with them; moto checks each signature and the role's policy,
the one `podbay provider policy NAME --instance-role` prints."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import boto3
import pytest

from podbay import providers
from podbay.core import secrets_store
from podbay.core.engine import Engine, UpRequest
from podbay.core.model import ProviderConfig
from podbay.core.store import Store
from podbay.providers.aws import policy
from tests.aws import cloud, standin
from tests.conftest import IMAGE, PODBAY, Podbay, write_config
from tests.unit.test_cli_errors import assert_clean_error

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ["ssm:/team/db", "secretsmanager:team/api"]


def start_cloud(credentials: Path, *where: str) -> tuple[subprocess.Popen[str], list[str]]:
    """tests/aws/cloud.py in a process of its own: (the process, its `ready` line's ports)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.aws.cloud", str(credentials), *where],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline().split()  # (the process prints it once both answer)
    assert ready[:1] == ["ready"], "tests/aws/cloud.py did not start"
    return proc, ready[1:]


def seed(endpoint: str, region: str = "us-east-1") -> None:
    """Two parameters and two secrets; the role may read one of each."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=region, **keys)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region, **keys)
    for name in ("/team/db", "/team/other"):
        ssm.put_parameter(Name=name, Value=f"value of {name}", Type="SecureString")
    for name in ("team/api", "team/api-admin"):
        secrets.create_secret(Name=name, SecretString=f"value of {name}")


@pytest.fixture
def local_cloud(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(AWS endpoint, metadata service, the role's credentials file), on 127.0.0.1."""
    credentials = tmp_path / "role.json"
    proc, (moto_port, metadata_port) = start_cloud(credentials)
    try:
        yield f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{metadata_port}", credentials
    finally:
        proc.kill()
        proc.wait()


def read_on_vm(metadata: str, endpoint: str, *references: str) -> dict[str, dict[str, str]]:
    """Run the reader as podbay runs it on a VM (the system's python3, isolated)."""
    code = resources.files("podbay.assets").joinpath("aws/read_secrets.py").read_text()
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    done = subprocess.run(
        [python, "-I", "-c", code, "us-east-1", "--imds", metadata, "--endpoint", endpoint,
         *references],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"]},  # no AWS_* here: the role's are the metadata's
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, dict[str, str]] = json.loads(done.stdout)
    return found


def test_the_reader_runs_on_the_python3_of_older_images() -> None:
    """Ubuntu 22.04 has Python 3.10; an older image 3.8: nothing newer in the reader."""
    import ast

    code = resources.files("podbay.assets").joinpath("aws/read_secrets.py").read_text()
    tree = ast.parse(code, feature_version=(3, 8))
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {"UTC", "removeprefix", "removesuffix"}  # (3.11, 3.9, 3.9)


def test_the_vm_reads_what_its_role_may_read_and_nothing_else(
    local_cloud: tuple[str, str, Path],
) -> None:
    endpoint, metadata, credentials = local_cloud
    seed(endpoint)
    role = cloud.role_credentials(endpoint, policy.instance_role_document(REFERENCES, "us-east-1"))
    cloud.enforce(endpoint)
    # No instance profile yet: the metadata service lists no role.
    assert read_on_vm(metadata, endpoint, "ssm:/team/db")["ssm:/team/db"]["error"] == (
        "NoInstanceProfile"
    )
    # A role whose trust policy does not name EC2: the metadata service says so.
    refused_role = {"Code": "AssumeRoleUnauthorizedAccess", "Message": "not trusted"}
    credentials.write_text(json.dumps(refused_role))
    assert read_on_vm(metadata, endpoint, "ssm:/team/db")["ssm:/team/db"] == {
        "error": "RoleCredentials",
        "message": "AssumeRoleUnauthorizedAccess: not trusted",
    }
    credentials.write_text(json.dumps(role))
    found = read_on_vm(
        metadata, endpoint, *REFERENCES, "ssm:/team/other", "secretsmanager:team/api-admin"
    )
    assert found["ssm:/team/db"] == {"value": "value of /team/db"}
    assert found["secretsmanager:team/api"] == {"value": "value of team/api"}
    assert found["ssm:/team/other"]["error"] == "AccessDenied"
    assert found["secretsmanager:team/api-admin"]["error"] == "AccessDenied"
    # moto checks the signature: with the secret key wrong, nothing is read.
    credentials.write_text(json.dumps({**role, "SecretAccessKey": "x" + role["SecretAccessKey"]}))
    refused = read_on_vm(metadata, endpoint, "ssm:/team/db")["ssm:/team/db"]
    assert "value" not in refused and "Signature" in refused["error"], refused


def test_with_secrets_on_vm_the_instance_role_reads_them_and_the_user_passes_it(
    podbay: Podbay,
) -> None:
    """`provider policy NAME`: the user's policy passes the role to EC2; `--instance-role`:
    the role's, which reads exactly the references set."""
    arn = "arn:aws:iam::111122223333:instance-profile/dev"
    add = ["provider", "add", "aws", "--name", "cloud", "--no-check", "-o", "region=eu-west-1"]
    assert_clean_error(
        podbay(*add, "-o", "secrets_on_vm=true"),
        "secrets_on_vm reads with the VM's instance profile: set instance_profile_arn too",
    )
    for wrong in ("dev", "arn:aws-cn:iam::111122223333:instance-profile/dev"):
        assert_clean_error(
            podbay(*add, "-o", f"instance_profile_arn={wrong}"),
            "an instance profile's ARN looks like",
        )
        assert_clean_error(  # (nor does a type's policy take it)
            podbay("provider", "policy", "aws", "-o", f"instance_profile_arn={wrong}"),
            "an instance profile's ARN looks like",
        )
    podbay.ok(*add, "-o", f"instance_profile_arn={arn}", "-o", "secrets_on_vm=true")
    assert_clean_error(
        podbay("provider", "policy", "cloud", "--instance-role"),
        "no secret reference is read through this provider yet",
    )
    podbay.ok("secret", "set", "DB", "--ref", "ssm:/team/db", "--provider", "cloud")
    user = podbay.ok("provider", "policy", "cloud")
    statements = json.loads(user.stdout)["Statement"]
    [passing] = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Resource"] == "arn:aws:iam::111122223333:role/*"
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    # (kept for a workspace elsewhere, which reads it here; the note says when to drop it)
    assert [s for s in statements if s["Action"] == "ssm:GetParameter"]
    assert "podbay provider policy cloud --instance-role" in user.stderr
    role = podbay.ok("provider", "policy", "cloud", "--instance-role")
    [reads] = [s for s in json.loads(role.stdout)["Statement"] if s["Action"] == "ssm:GetParameter"]
    assert reads["Resource"] == ["arn:aws:ssm:eu-west-1:*:parameter/team/db"]
    assert role.stderr == ""
    # A workspace's own secret is readable from every VM of the provider: said.
    secrets_store.set_reference(Store(podbay.home), "KEY", "api", "ssm:/team/api-key", "cloud")
    role = podbay.ok("provider", "policy", "cloud", "--instance-role")
    assert "a workspace's own secrets too (KEY (api))" in role.stderr
    # Read with the user's credentials, the VMs need nothing.
    assert_clean_error(
        podbay("provider", "policy", "aws", "--instance-role"),
        "the VMs read no secrets while secrets_on_vm is off",
    )
    # Without an instance profile, no role is passed.
    assert "iam:PassRole" not in podbay.ok("provider", "policy", "aws").stdout


@pytest.fixture
def cloud_beside_the_vm(needs_docker: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """tests/aws/cloud.py in a container of its own, where a stand-in instance's programs
    reach it: (its address, the role's credentials file). It runs this checkout's
    tests.aws.cloud with this interpreter's packages, on the image's own python3."""
    import sysconfig

    folder = tmp_path / "cloud"
    folder.mkdir()
    name = f"podbay-test-cloud-{os.getpid()}-{tmp_path.name}"[:60]
    packages = sysconfig.get_paths()["purelib"]
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-v", f"{ROOT}:{ROOT}:ro",
         "-v", f"{folder}:/cloud", "-w", str(ROOT), "-e", f"PYTHONPATH={ROOT}:{packages}",
         IMAGE, "python3", "-m", "tests.aws.cloud", "/cloud/role.json", "0.0.0.0", "5000",
         "8080"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        with subprocess.Popen(
            ["docker", "logs", "-f", name], stdout=subprocess.PIPE, text=True
        ) as logs:
            assert logs.stdout is not None
            ready = logs.stdout.readline()  # (printed once both answer)
            logs.kill()
        assert ready.startswith("ready"), "tests/aws/cloud.py did not start in its container"
        address = subprocess.run(
            ["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        yield address, folder / "role.json"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_a_workspace_vm_reads_its_secrets_for_hooks_exec_and_ssh(
    aws: None,
    caller_ip: dict[str, str],
    standin_env: Path,
    cloud_beside_the_vm: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With secrets_on_vm, the stand-in VM reads the parameter with its role (from the metadata
    service): a hook, `podbay exec` and `podbay ssh` get it, though nothing here could read it
    (the parameter is only in the VM's AWS, and this computer's AWS is unreachable to them)."""
    address, role_file = cloud_beside_the_vm
    endpoint = f"http://{address}:5000"
    seed(endpoint)
    role_policy = policy.instance_role_document(REFERENCES, "us-east-1")
    role_file.write_text(json.dumps(cloud.role_credentials(endpoint, role_policy)))
    cloud.enforce(endpoint)
    monkeypatch.setenv("PODBAY_TEST_MACHINE_AWS", f"http://{address}:8080 {endpoint}")
    profile = boto3.client("iam").create_instance_profile(InstanceProfileName="dev")
    home = tmp_path / "home"
    store = Store(home)
    engine = Engine(store, providers.load)
    options = {"region": "us-east-1", "secrets_on_vm": True,
               "instance_profile_arn": profile["InstanceProfile"]["Arn"]}  # fmt: skip
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options=options))
    secrets_store.set_reference(store, "DB", "", "ssm:/team/db", "cloud")
    project = tmp_path / "project"
    # (the hook says whether it saw the value, not the value)
    hook = 'test "$DB" = "value of /team/db" && touch /tmp/the-hook-saw-it'
    write_config(project, {"image": IMAGE, "postCreateCommand": hook})
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PODBAY_HOME=str(home), AWS_ENDPOINT_URL="http://127.0.0.1:9")  # (nothing there)
    try:
        asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
        ws = store.workspace("project")
        saw = subprocess.run(["docker", "exec", str(ws.container_id), "ls", "/tmp"],
                             capture_output=True, text=True)  # fmt: skip
        assert "the-hook-saw-it" in saw.stdout
        for verb in ("exec", "ssh"):
            done = subprocess.run(
                [PODBAY, verb, "project", "--", "printenv", "DB"],
                env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.stdout == "value of /team/db\n", (verb, done.stderr)
        # A parameter the role may not read: one line naming the role and the way out.
        secrets_store.set_reference(store, "OTHER", "", "ssm:/team/other", "cloud")
        refused = subprocess.run([PODBAY, "exec", "project", "--", "true"],
                                 env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert_clean_error(
            refused,
            "secret OTHER: the instance role of workspace project's machine may not read "
            "ssm:/team/other in region us-east-1",
        )
        assert "podbay provider policy cloud --instance-role" in refused.stderr
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(engine.delete("project"))
        standin.remove_all(store.install_id())
