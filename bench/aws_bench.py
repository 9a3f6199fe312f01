"""AWS provider: API calls per step (against moto) beside DevPod's, and the SSH relay's speed.

The "instance" is the tests' stand-in (a local container that ran podbay's real user-data under
OpenSSH). Relay figures compare podbay's asyncssh relay with OpenSSH doing the same hop (a
hand-written ProxyCommand `ssh machine docker exec ... sshd -i`). Not a test: asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMAGE = "podbay-test/debian:bookworm"

# DevPod's AWS provider (loft-sh/devpod-provider-aws 0da5d6e), from
# ../shared/reference/devpod.md section 3.2: every command but init first runs NewProvider,
# which calls DescribeImages twice when no AMI is set. Lower bounds (no Route53, SG exists
# for stop/start/status/delete; `up` counts create only, not DevPod's follow-up commands,
# each of which adds NewProvider + DescribeInstances = 3 calls).
DEVPOD = {
    "up (new workspace)": 12,  # init 2, NewProvider 2, DescribeSecurityGroups x2,
    # DescribeVpcs, CreateSecurityGroup, AuthorizeSecurityGroupIngress, GetInstanceProfile,
    # DescribeSubnets, RunInstances
    "status": 3,  # NewProvider 2 + DescribeInstances, per workspace
    "status (first of a week: prices asked)": 3,  # DevPod shows no prices
    "stop": 4,  # NewProvider 2 + DescribeInstances + StopInstances
    "start": 4,  # NewProvider 2 + DescribeInstances + StartInstances
    "up (running workspace)": 3,  # a status check
    "delete": 4,  # NewProvider 2 + DescribeInstances + TerminateInstances; SG left behind
}


def caller_ip_server() -> str:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"203.0.113.7\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/"


def median_time(argv: list[str], repeat: int, reset: list[str] | None = None) -> float:
    samples = []
    for _ in range(repeat):
        if reset:
            subprocess.run(reset, capture_output=True, check=False, timeout=60)
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, timeout=60)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def throughput(argv: list[str], size: int) -> float:
    start = time.perf_counter()
    feeder = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    subprocess.run(argv, stdin=feeder.stdout, capture_output=True, check=True, timeout=600)
    feeder.wait()
    return size / (time.perf_counter() - start) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podbay-aws-bench-"))
    from tests.aws.conftest import _COMMON, AMIS

    amis = work / "amis.json"
    amis.write_text(json.dumps([{**_COMMON, **a} for a in AMIS]))
    os.environ.update(
        PODBAY_HOME=str(work / "home"),
        MOTO_AMIS_PATH=str(amis),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(work / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "none"),
        PODBAY_TEST_AWS_RESOLVER="tests.aws.standin:resolve",
        PODBAY_AWS_WORKSPACES=str(work / "vm-workspaces"),
        PODBAY_AWS_POLL_INTERVAL="0.2",
        PODBAY_CALLER_IP_URL=caller_ip_server(),
    )
    os.environ.pop("AWS_PROFILE", None)
    from moto import mock_aws

    from podbay import providers
    from podbay.core.engine import Engine, UpRequest
    from podbay.core.model import Event, ProviderConfig
    from podbay.core.store import Store
    from tests.aws import standin

    project = work / "project"
    (project / ".devcontainer").mkdir(parents=True)
    (project / ".devcontainer" / "devcontainer.json").write_text(json.dumps({"image": IMAGE}))
    rows: list[tuple[str, int, str, float]] = []
    from tests.aws import strict

    with mock_aws():
        # AWS's request checks, and the Price List answered in AWS's shape (moto has none);
        # no eventual-consistency or throttling injection: the counts of a run needing no retry.
        unstrict = strict.install()
        store = Store(work / "home")
        engine = Engine(store, providers.load)
        engine.providers.save(
            ProviderConfig(name="aws", type="aws", options={"region": "us-east-1"})
        )
        provider: Any = engine.provider("aws")
        calls: Counter[str] = Counter()
        # Counted at the client's call, above the strict answers (which stand in for AWS);
        # DescribeInstanceAttribute is the stand-in reading user-data back, not podbay.
        from botocore.client import BaseClient

        strict_call = BaseClient._make_api_call

        def counted(client: Any, name: str, params: dict[str, Any]) -> Any:
            if name != "DescribeInstanceAttribute":
                calls.update([name])
            return strict_call(client, name, params)

        BaseClient._make_api_call = counted
        ec2 = provider.client("ec2")

        def step(label: str, work_fn: Any) -> None:
            calls.clear()
            start = time.perf_counter()
            asyncio.run(work_fn())
            seconds = time.perf_counter() - start
            names = ", ".join(f"{n}{'' if c == 1 else f' x{c}'}" for n, c in calls.items())
            rows.append((label, sum(calls.values()), names, seconds))

        try:
            first = UpRequest(source=str(project), provider="aws")
            marks: list[tuple[float, str]] = []

            def phase(event: Event) -> None:
                if event.kind in ("step", "done"):
                    marks.append((time.perf_counter(), event.message))

            step("up (new workspace)", lambda: engine.up(first, phase))
            phases = [(text, later - at) for (at, text), (later, _) in itertools.pairwise(marks)]
            step("status (first of a week: prices asked)", engine.status_all)
            step("status", engine.status_all)
            step("up (running workspace)", lambda: engine.up(UpRequest(name="project")))
            cfg = work / "home" / "ssh_config"
            ws = store.workspace("project")
            assert ws.machine.ssh is not None
            machine = ws.machine.ssh
            relay = ["ssh", "-F", str(cfg), "project.podbay"]
            # The same hop with OpenSSH as the relay instead of podbay's asyncssh relay.
            key = work / "home" / "keys" / "project" / "id_ed25519"
            known = work / "machine_known_hosts"
            known.write_text(f"[{machine.host}]:{machine.port} {machine.host_public_key}\n")
            hand = work / "hand_config"
            proxy = (
                f"ssh -q -p {machine.port} -i {key} -o IdentitiesOnly=yes "
                f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                f"podbay@{machine.host} docker exec -i -u root {ws.container_id} "
                "/bin/sh -c \\'mkdir -p /run/sshd\\; exec /usr/sbin/sshd -i -e "
                "-f /etc/podbay/ssh/sshd_config\\'"
            )
            text = cfg.read_text()
            line = next(x for x in text.splitlines() if "ProxyCommand" in x)
            # As people write it: no multiplexing (and not podbay's master socket).
            hand.write_text(
                "\n".join(
                    x
                    for x in text.replace(line, f"  ProxyCommand {proxy}").splitlines()
                    if "  Control" not in x
                )
            )
            by_hand = ["ssh", "-F", str(hand), "project.podbay"]
            size = args.mib << 20
            # podbay's first connection (each run starts the master: the last one is closed,
            # untimed), then as configured (the master kept).
            close = [*relay[:3], "-O", "exit", *relay[3:]]
            first_true = median_time([*relay, "true"], args.repeat, reset=close)
            relay_true = median_time([*relay, "true"], args.repeat)
            hand_true = median_time([*by_hand, "true"], args.repeat)
            relay_mb = throughput([*relay, "cat > /dev/null"], size)
            hand_mb = throughput([*by_hand, "cat > /dev/null"], size)

            step("stop", lambda: engine.stop("project"))
            standin.sync(ec2, store.install_id())
            step("start", lambda: engine.start("project"))
            step("delete", lambda: engine.delete("project"))
            standin.sync(ec2, store.install_id())
        finally:
            standin.remove_all(store.install_id())
            BaseClient._make_api_call = strict_call
            unstrict()

    print(
        f"## AWS provider ({time.strftime('%Y-%m-%d')}, {platform.node()}, "
        f"{os.cpu_count()} cores; moto in-process, stand-in instance)\n"
    )
    print("| step | podbay API calls | DevPod (at least) | calls podbay made | wall time |")
    print("|---|---|---|---|---|")
    for label, count, names, seconds in rows:
        print(f"| {label} | {count} | {DEVPOD[label]} | {names} | {seconds:.2f} s |")
    print()
    print("The first `up`, phase by phase (the stand-in boots as EC2 does: sshd first, apt's")
    print("lock held by unattended-upgrades for 3 s, Docker installed by user-data):\n")
    print("| phase of `up (new workspace)` | seconds |")
    print("|---|---|")
    for text, seconds in phases:
        print(f"| {text} | {seconds:.2f} |")
    print()
    print("| relay | podbay (asyncssh relay) | OpenSSH as the relay | ratio |")
    print("|---|---|---|---|")
    print(
        "| `ssh NAME.podbay true`, first connection (starts the master) "
        f"| {first_true * 1000:.0f} ms | {hand_true * 1000:.0f} ms "
        f"| {first_true / hand_true:.2f}x |"
    )
    print(
        f"| `ssh NAME.podbay true`, as configured (master kept 120 s) "
        f"| {relay_true * 1000:.0f} ms | {hand_true * 1000:.0f} ms "
        f"| {relay_true / hand_true:.2f}x |"
    )
    print(
        f"| `ssh NAME.podbay 'cat > /dev/null'`, {args.mib} MiB | {relay_mb:.0f} MB/s "
        f"| {hand_mb:.0f} MB/s | {relay_mb / hand_mb:.2f}x |"
    )


if __name__ == "__main__":
    main()
