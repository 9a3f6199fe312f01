"""The real `podbay` command against moto_server and a stand-in instance, end to end:
provider add -> up (git clone on the machine) -> list -> ssh NAME.podbay -> exec -> stop ->
start -> delete -> gc finds nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.aws import standin
from tests.aws.conftest import aws_env
from tests.conftest import IMAGE, Podbay, write_config


def _ec2(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _git_repo(folder: Path) -> str:
    folder.mkdir(parents=True)
    write_config(folder, {"image": IMAGE, "postStartCommand": "date > /tmp/started"})
    (folder / "README").write_text("cloned on the machine\n")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "."],
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "first"],
    ):
        subprocess.run(argv, cwd=folder, check=True)
    return f"file://{folder}"


def test_cli_on_moto_server(
    podbay: Podbay,
    moto_server: str,
    caller_ip: dict[str, str],
    standin_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in aws_env(tmp_path, moto_server).items():
        monkeypatch.setitem(podbay.env, key, value)
    podbay.env.pop("AWS_PROFILE", None)
    for key in ("PODBAY_TEST_AWS_RESOLVER", "PODBAY_AWS_WORKSPACES", "PODBAY_CALLER_IP_URL"):
        import os

        podbay.env[key] = os.environ[key]
    podbay.env["PODBAY_AWS_POLL_INTERVAL"] = "0.2"
    # The resolver hook (tests.aws.standin) is imported inside the podbay process, and AWS's
    # strictness is installed there too (tests/aws/site/sitecustomize.py).
    root = Path(__file__).resolve().parents[2]
    podbay.env["PYTHONPATH"] = f"{Path(__file__).parent / 'site'}:{root}"
    podbay.env["PODBAY_TEST_STRICT_AWS"] = "1"
    ec2 = _ec2(moto_server)
    # The repository lives where the stand-in machine sees it too (the shared folder).
    url = _git_repo(standin_env / "origin" / "repo")

    added = podbay.ok("provider", "add", "aws", "-o", "region=us-east-1", "--use")
    assert "AWS account 123456789012" in added.stdout
    assert "ami-0a0000000000noble" in added.stdout  # newest Canonical noble, not the impostor
    home = ""
    try:
        podbay.ok("up", url, "--name", "repo", timeout=300)
        [row] = podbay.json("list")
        home = standin.home_of(podbay.home)
        assert row["status"] == "Running"
        assert row["machine"]["type"] == "t3.medium" and row["machine"]["state"] == "running"
        # AWS's Price List (0.0418/h) and its public address, not the bundled table (0.0416).
        assert row["machine"]["hourly"] == 0.0468 and row["machine"]["monthly"] == 37.36
        assert row["folder"] == f"{standin_env}/repo"
        table = podbay.ok("list").stdout
        assert "t3.medium running, ~$0.0468/h" in table

        ssh = ["ssh", "-F", str(podbay.home / "ssh_config"), "repo.podbay"]
        result = subprocess.run(
            [*ssh, "cat /workspaces/repo/README"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "cloned on the machine\n"
        assert podbay.ok("exec", "repo", "--", "cat", "README").stdout == "cloned on the machine\n"
        # podbay's own asyncssh client through the same relay; starts in the workspace folder.
        assert podbay.ok("ssh", "repo", "--", "cat", "README").stdout == "cloned on the machine\n"
        logs = podbay.ok("logs", "repo")
        assert "waiting for SSH on 127.0.0.1:" in logs.stdout
        # The container's own output through the relay (this crashed with NotImplementedError).
        assert "Container started" in podbay.ok("logs", "repo", "--container").stdout

        # No cloud credentials reach the machine: not in user-data, not in its files or env.
        [instance_id] = standin.standins(home)
        script = standin.user_data(ec2, instance_id).decode()
        assert "testing-secret-never-on-a-vm" not in script and "aws_secret" not in script.lower()
        on_vm = subprocess.run(
            [
                "docker",
                "exec",
                f"{standin.PREFIX}{instance_id}",
                "sh",
                "-c",
                "ls -a /home/podbay; grep -rl testing-secret /home /etc /var/lib/podbay; true",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert ".aws" not in on_vm and "testing-secret" not in on_vm

        podbay.ok("stop", "repo")
        standin.sync(ec2, home)
        assert podbay.json("list")[0]["status"] == "Stopped"
        failed = subprocess.run([*ssh, "true"], capture_output=True, text=True, timeout=60)
        assert failed.returncode != 0
        assert "is its machine stopped, or did your address change? podbay up repo" in failed.stderr

        podbay.ok("start", "repo", timeout=300)
        again = subprocess.run([*ssh, "cat /tmp/started"], capture_output=True, text=True)
        assert again.returncode == 0, again.stderr

        podbay.ok("delete", "repo", "--yes")
        standin.sync(ec2, home)
        assert podbay.json("provider", "gc", "aws")["leftovers"] == []
        assert podbay.json("list") == []
    finally:
        if home:
            standin.remove_all(home)
