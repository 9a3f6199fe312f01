"""AWS tests run against moto (in-process here). Never against AWS itself."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Ubuntu images as Canonical publishes them (real name scheme and owner), an older build to test
# newest-first, an arm64 twin, and an impostor with a Canonical-looking name from another owner.
# moto reads MOTO_AMIS_PATH when it is imported, so it is set before any test imports moto.
CANONICAL = "099720109477"
AMIS = [
    {
        "ami_id": "ami-0a0000000000noble",
        "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260901",
        "owner_id": CANONICAL,
        "architecture": "x86_64",
        "creation_date": "2026-09-01T00:00:00.000Z",
    },
    {
        "ami_id": "ami-0b0000000000noble",
        "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260301",
        "owner_id": CANONICAL,
        "architecture": "x86_64",
        "creation_date": "2026-03-01T00:00:00.000Z",
    },
    {
        "ami_id": "ami-0c0000000000noble",
        "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20260901",
        "owner_id": CANONICAL,
        "architecture": "arm64",
        "creation_date": "2026-09-01T00:00:00.000Z",
    },
    {
        "ami_id": "ami-0d000000000jammy",
        "name": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20260801",
        "owner_id": CANONICAL,
        "architecture": "x86_64",
        "creation_date": "2026-08-01T00:00:00.000Z",
    },
    {
        "ami_id": "ami-0e00000impostor",
        "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101",
        "owner_id": "111122223333",
        "architecture": "x86_64",
        "creation_date": "2026-11-01T00:00:00.000Z",
    },
]
_COMMON = {
    "root_device_name": "/dev/sda1",
    "root_device_type": "ebs",
    "virtualization_type": "hvm",
    "state": "available",
    "public": True,
    "image_type": "machine",
    "hypervisor": "xen",
    "sriov": "simple",
    "platform": None,
    "description": "Canonical, Ubuntu",
}
_FIXTURE = Path(__file__).parent / "amis.json"


def pytest_configure(config: Any) -> None:
    _FIXTURE.write_text(json.dumps([{**_COMMON, **ami} for ami in AMIS], indent=1))
    os.environ["MOTO_AMIS_PATH"] = str(_FIXTURE)


def pytest_unconfigure(config: Any) -> None:
    _FIXTURE.unlink(missing_ok=True)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto in-process, with fake credentials and no instance metadata lookups; podbay's
    caches (prices) in the test's own home unless a test chose one."""
    if not os.environ.get("PODBAY_HOME"):
        monkeypatch.setenv("PODBAY_HOME", str(tmp_path / "podbay-home"))
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from moto import mock_aws

    with mock_aws():
        default_vpc_as_aws_makes_it()
        yield


def default_vpc_as_aws_makes_it(region: str = "us-east-1", endpoint: str | None = None) -> None:
    """moto's default VPC has no internet gateway; AWS's has one, with 0.0.0.0/0 routed to it
    in the main route table (a machine in a default subnet reaches the internet)."""
    import boto3

    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint, **keys)
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    attached = {"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}
    if ec2.describe_internet_gateways(Filters=[attached])["InternetGateways"]:
        return
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc["VpcId"])
    main = [
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
        {"Name": "association.main", "Values": ["true"]},
    ]
    [table] = ec2.describe_route_tables(Filters=main)["RouteTables"]
    ec2.create_route(
        RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway
    )


CALLER_IP = "203.0.113.7"


@pytest.fixture
def caller_ip(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A loopback stand-in for the what-is-my-address service; change ["ip"] to move."""
    import http.server
    import threading

    answer = {"ip": CALLER_IP}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (answer["ip"] + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PODBAY_CALLER_IP_URL", f"http://127.0.0.1:{server.server_port}/")
    yield answer
    server.shutdown()
    server.server_close()


@pytest.fixture
def needs_docker() -> None:
    from tests.docker.conftest import _engine_problem, _missing

    problem = _engine_problem()
    if problem is not None:
        _missing(problem)


@pytest.fixture
def standin_env(
    needs_docker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """podbay resolves instances to stand-in containers; workspaces live in a shared folder."""
    workspaces = tmp_path / "vm-workspaces"
    monkeypatch.setenv("PODBAY_TEST_AWS_RESOLVER", "tests.aws.standin:resolve")
    monkeypatch.setenv("PODBAY_AWS_WORKSPACES", str(workspaces))
    monkeypatch.setenv("PODBAY_AWS_POLL_INTERVAL", "0.2")
    monkeypatch.setenv("PODBAY_AWS_SSH_TIMEOUT", "60")
    yield workspaces


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto as a server on 127.0.0.1 (what a podbay subprocess reaches via AWS_ENDPOINT_URL)."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = str(Path(sys.executable).parent / "moto_server")
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MOTO_AMIS_PATH": str(_FIXTURE)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def aws_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    """Environment for a podbay subprocess talking to moto_server, never to AWS."""
    (tmp_path / "aws-config").write_text("")
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-never-on-a-vm",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-config"),
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture
def machine(needs_docker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A stand-in machine that ran podbay's real user-data: (container, SSH port, keys)."""
    import asyncio
    import subprocess
    import time

    from podbay.core.ssh import keys as ssh_keys
    from podbay.core.ssh import machine as machine_ssh
    from podbay.providers.aws import userdata
    from tests.aws import standin

    monkeypatch.setenv("PODBAY_AWS_WORKSPACES", str(tmp_path / "vm-workspaces"))
    keys = ssh_keys.ensure(tmp_path, "box")
    keys.ensure_machine_key()
    script = userdata.render(
        client_public_key=keys.client_public(),
        host_private_key=keys.machine_host_key.read_text(),
        idle_minutes=30,
        workspaces=str(tmp_path / "vm-workspaces"),
    )
    name = f"{standin.PREFIX}ud-{tmp_path.name[-20:].lower()}"
    instance = {"InstanceId": name, "Tags": [{"Key": "podbay:home", "Value": "ud"}]}
    standin.boot(name, instance, script.encode())
    port = int(
        subprocess.run(
            ["docker", "port", name, "22/tcp"], capture_output=True, text=True, check=True
        )
        .stdout.split()[0]
        .rsplit(":", 1)[1]
    )
    try:
        # Wait as podbay does: asyncssh pinned to the machine key, retrying while it boots.
        address = machine_ssh.MachineAddress(
            "127.0.0.1", port, "podbay", keys.client_key, keys.machine_host_public()
        )
        conn = asyncio.run(_connected(address))
        assert conn is not None
        # The pinned key is offered from user-data's step 2 on; the machine is ready later.
        deadline = time.monotonic() + 120
        while subprocess.run(
            ["docker", "exec", name, "test", "-e", "/var/lib/podbay/ready"], check=False
        ).returncode:
            assert time.monotonic() < deadline, "user-data did not finish in 120 s"
            time.sleep(0.2)
        yield name, port, keys
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


async def _connected(address: Any) -> object:
    import time

    from podbay.core.ssh import machine as machine_ssh

    conn = await machine_ssh.connect(address, retry_until=time.monotonic() + 60)
    conn.close()
    return conn


@pytest.fixture(autouse=True)
def strict_aws(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Every AWS test: requests checked as AWS checks them, EC2's eventual consistency (the
    first call naming a group or instance just made answers NotFound) and random throttling
    (seeded by the test's name; `strict_aws.throttling.rate` may be changed)."""
    from tests.aws import strict

    consistency = strict.EventualConsistency()
    consistency.answers = dict(strict.MOTO_LACKS)  # a test may replace one
    consistency.throttling = strict.Throttling(strict.THROTTLE_RATE, request.node.nodeid)
    remove = strict.install(consistency, consistency.answers)
    unthrottle = strict.install_throttling(consistency.throttling)
    try:
        yield consistency
    finally:
        unthrottle()
        remove()
