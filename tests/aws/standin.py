"""Stand-in EC2 instances: a local container per moto instance that ran podbay's real user-data.

podbay is pointed here with PODBAY_TEST_AWS_RESOLVER=tests.aws.standin:resolve. When podbay
asks where a running instance's SSH answers, `resolve` reads the instance's user-data back
from moto (DescribeInstanceAttribute, exactly what EC2 would hand cloud-init), boots a
Debian container that runs it as root under real OpenSSH, and returns its 127.0.0.1 port.

It boots as a fresh Ubuntu instance does (BOOT below: sshd first with other host keys,
apt's lock held by a stand-in unattended-upgrades, no Docker until user-data installs it). It
shares the test machine's Docker (socket mounted; "installing" docker.io puts the test
machine's CLI in place and adds the docker group), so the workspace's own container runs there
too. STANDIN_* variables of the test process tune a boot (apt busy time, mirror failures).
`sync` plays the hypervisor after podbay stopped or terminated an instance: the stand-in and
the workspace containers stop (power-off) or disappear (terminate).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

IMAGE = "podbay-test/debian:bookworm"
PREFIX = "podbay-standin-"
LABEL = "podbay.test.standin"

# A fresh Ubuntu boot as EC2 gives it. sshd answers at once, with the image's own host keys;
# cloud-init runs the user-data meanwhile; unattended-upgrades holds apt's lock for a while;
# Docker is not installed (user-data installs it, and the package adds the docker group).
BOOT = """#!/bin/bash
set -u
if [ -e /var/lib/podbay-standin-booted ]; then
  mkdir -p /run/sshd /run/systemd/system
  exec /usr/sbin/sshd -D -e
fi
install -m 0755 /var/lib/cloud/systemctl /usr/local/bin/systemctl
install -m 0755 /var/lib/cloud/apt-get /usr/local/sbin/apt-get
mkdir -p /run/sshd /run/systemd/system /var/lib/dpkg
ssh-keygen -A >/dev/null
/usr/sbin/sshd
(exec 9>/var/lib/dpkg/lock-frontend; flock 9; sleep "${STANDIN_APT_BUSY:-3}") &
# The tests' file:// git origins belong to the test machine's root, not to the login user.
git config --system safe.directory '*'
bash /var/lib/cloud/user-data >/var/log/user-data.log 2>&1 || true
touch /var/lib/podbay-standin-booted
# init's part: reap what exits (a restarted sshd's old listener), as systemd does.
while :; do sleep 3600 & wait $!; done
"""

# systemd's part: `restart ssh` starts a listener with the new config; open sessions stay.
SYSTEMCTL = """#!/bin/bash
case "$*" in
  "restart ssh" | "restart sshd")
    if [ -e /run/sshd.pid ]; then
      old=$(cat /run/sshd.pid)
      kill "$old"
      while [ -e "/proc/$old" ] && ! grep -q '^State:.*Z' "/proc/$old/status"; do sleep 0.1; done
    fi
    exec /usr/sbin/sshd ;;
esac
exit 0
"""

# apt without a network: the dpkg lock as apt takes it (no Lock::Timeout: fail at once), a
# mirror that may fail the first STANDIN_APT_UPDATE_FAILURES updates, and docker.io "installed"
# from the test machine's CLI, adding the docker group as the package does.
APT_GET = """#!/bin/bash
echo "apt-get $*" >>/var/log/standin-apt.log  # what user-data asked for, for the tests
timeout=0
update=no
for arg in "$@"; do
  case "$arg" in
    DPkg::Lock::Timeout=*) timeout=${arg#*=} ;;
    update) update=yes ;;
  esac
done
exec 9>/var/lib/dpkg/lock-frontend
if ! flock -w "$timeout" 9; then
  echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by unattended-upgr" >&2
  exit 100
fi
if [ "$update" = yes ]; then
  count=$(cat /var/lib/dpkg/standin-updates 2>/dev/null || echo 0)
  echo $((count + 1)) >/var/lib/dpkg/standin-updates
  if [ "$count" -lt "${STANDIN_APT_UPDATE_FAILURES:-0}" ]; then
    echo "E: Failed to fetch: Temporary failure resolving 'archive.invalid'" >&2
    exit 100
  fi
fi
for arg in "$@"; do
  case "$arg" in
    docker.io)
      install -m 0755 /opt/standin/docker /usr/bin/docker
      getent group docker >/dev/null || groupadd -g "$(stat -c %g /var/run/docker.sock)" docker
      ;;
    docker-buildx) echo "E: Unable to locate package docker-buildx" >&2; exit 100 ;;
  esac
done
exit 0
"""


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check, timeout=120
    )


def user_data(ec2: Any, instance_id: str) -> bytes:
    found = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return base64.b64decode(found["UserData"]["Value"])


def resolve(instance: dict[str, Any], provider: Any) -> tuple[str, int]:
    instance_id = instance["InstanceId"]
    name = PREFIX + instance_id
    state = _docker("inspect", "-f", "{{.State.Running}}", name, check=False)
    if state.returncode != 0:
        boot(name, instance, user_data(provider.client("ec2"), instance_id))
    elif state.stdout.strip() != "true":
        _docker("start", name)
    mapped = _docker("port", name, "22/tcp").stdout.split()[0]
    return "127.0.0.1", int(mapped.rsplit(":", 1)[1])


def boot(name: str, instance: dict[str, Any], script: bytes) -> None:
    folder = Path(tempfile.mkdtemp(prefix="podbay-standin-"))
    (folder / "user-data").write_bytes(script)
    (folder / "boot.sh").write_text(BOOT)
    (folder / "systemctl").write_text(SYSTEMCTL)
    (folder / "apt-get").write_text(APT_GET)
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    workspaces = os.environ["PODBAY_AWS_WORKSPACES"]
    Path(workspaces).mkdir(parents=True, exist_ok=True)
    docker_cli = shutil.which("docker") or "/usr/bin/docker"
    _docker(
        "run",
        "-d",
        "--name",
        name,
        "--label",
        f"{LABEL}={tags.get('podbay:home', '')}/{tags.get('podbay:workspace', '')}",
        "-p",
        "127.0.0.1::22",
        "-v",
        f"{folder}:/var/lib/cloud:ro",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-v",
        f"{docker_cli}:/opt/standin/docker:ro",
        *(f"--env={k}={v}" for k, v in os.environ.items() if k.startswith("STANDIN_")),
        "-v",
        f"{workspaces}:{workspaces}",
        IMAGE,
        "bash",
        "/var/lib/cloud/boot.sh",
    )


def standins(home: str) -> dict[str, str]:
    """instance id -> "install id/workspace", for the stand-ins of one podbay home."""
    listed = _docker(
        "ps",
        "-a",
        "--filter",
        f"label={LABEL}",
        "--format",
        f'{{{{.Names}}}} {{{{.Label "{LABEL}"}}}}',
    ).stdout.split("\n")
    found = {}
    for line in listed:
        name, _, owner = line.strip().partition(" ")
        if name and owner.startswith(f"{home}/"):
            found[name.removeprefix(PREFIX)] = owner
    return found


def _workspace_containers(owner: str) -> list[str]:
    home, _, workspace = owner.partition("/")
    return _docker(
        "ps",
        "-aq",
        "--filter",
        f"label=dev.podbay.workspace={workspace}",
        "--filter",
        f"label=dev.podbay.home={home}",
    ).stdout.split()


def sync(ec2: Any, home: str) -> None:
    """Make the stand-ins follow moto: stopped instances power off, terminated ones vanish."""
    for instance_id, workspace in standins(home).items():
        found = ec2.describe_instances(InstanceIds=[instance_id])
        state = found["Reservations"][0]["Instances"][0]["State"]["Name"]
        inside = _workspace_containers(workspace)
        if state in ("stopped", "stopping"):
            if inside:
                _docker("stop", "-t", "1", *inside)
            _docker("stop", "-t", "1", PREFIX + instance_id)
        elif state in ("terminated", "shutting-down"):
            if inside:
                _docker("rm", "-f", *inside)
            _docker("rm", "-f", PREFIX + instance_id)


def remove_all(home: str) -> None:
    for instance_id, workspace in standins(home).items():
        inside = _workspace_containers(workspace)
        if inside:
            _docker("rm", "-f", *inside, check=False)
        _docker("rm", "-f", PREFIX + instance_id, check=False)


def home_of(podbay_home: Path) -> str:
    """The install id of a podbay home (the podbay:home tag on what it creates)."""
    import sqlite3

    with sqlite3.connect(podbay_home / "podbay.db") as db:
        row = db.execute("SELECT value FROM meta WHERE key='install_id'").fetchone()
    return str(row[0])
