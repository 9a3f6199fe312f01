"""The ssh provider beside the local one: `up` of a running workspace and `exec true`.

The machine is the tests' (tests/docker/test_ssh_machine.py): OpenSSH in a container whose
login user drives this computer's Docker, so both providers run the same containers on the
same engine and the difference is podbay's SSH path. A network round trip is measured too
(an SSH `true` over a kept connection: what a remote machine adds per request), and the
target read as: ssh provider <= 1.5 x local + one round trip. Not a test: asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMAGE = "podbay-test/debian:bookworm"
PODBAY = str(ROOT / ".venv" / "bin" / "podbay")


def median_time(argv: list[str], env: dict[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, timeout=120, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def round_trip(port: int, key: Path, repeat: int) -> float:
    """One request's round trip to the machine over a kept SSH connection."""
    import asyncssh

    async with asyncssh.connect(
        "127.0.0.1", port, username="dev", client_keys=[str(key)], known_hosts=None
    ) as conn:
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            await conn.run("true", check=True)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podbay-ssh-machine-bench-"))
    user = work / "user"
    (user / ".ssh").mkdir(parents=True)
    env = {**os.environ, "PODBAY_HOME": str(work / "home"), "HOME": str(user)}
    env.pop("SSH_AUTH_SOCK", None)
    from tests.docker.test_ssh_machine import remove_machine, start_machine, wait_for_sshd

    workdir = work / "machine-workspaces"
    workdir.mkdir()
    machine = start_machine(work, f"podbay-bench-machine-{os.getpid()}", str(workdir))
    wait_for_sshd(machine)
    port, key = machine.port, machine.key
    try:
        for name in ("local", "remote"):
            project = work / name
            (project / ".devcontainer").mkdir(parents=True)
            (project / ".devcontainer" / "devcontainer.json").write_text(
                json.dumps({"image": IMAGE})
            )
        subprocess.run([PODBAY, "up", str(work / "local")], env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run(
            [PODBAY, "provider", "add", "ssh", "--name", "box", "--yes",
             "-o", "host=dev@127.0.0.1", "-o", f"port={port}", "-o", f"identity_file={key}",
             "-o", f"workdir={workdir}"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run([PODBAY, "up", str(work / "remote"), "--provider", "box"], env=env,
                       check=True, capture_output=True)  # fmt: skip
        rows = []
        for what, argv in (
            ("up (running workspace)", ["up", "{}"]),
            ("exec true", ["exec", "{}", "--", "true"]),
        ):
            local = median_time([PODBAY, *(a.format("local") for a in argv)], env, args.repeat)
            remote = median_time([PODBAY, *(a.format("remote") for a in argv)], env, args.repeat)
            rows.append((what, local, remote))
        rtt = asyncio.run(round_trip(port, key, args.repeat))
        print(
            f"Date: {time.strftime('%Y-%m-%d')}. Machine: {platform.node()}, {os.cpu_count()} "
            f"cores, {platform.system()} {platform.release()}. Medians of {args.repeat} runs, "
            f"seconds. One round trip to the machine (SSH `true`, kept connection): {rtt:.4f}.\n"
        )
        header = (
            "| scenario | local provider | ssh provider | ssh / local | target: 1.5 x local + RTT |"
        )
        print(header)
        print("| --- | --- | --- | --- | --- |")
        for what, local, remote in rows:
            target = 1.5 * local + rtt
            print(
                f"| {what} | {local:.3f} | {remote:.3f} | {remote / local:.2f}x | "
                f"{target:.3f} ({'met' if remote <= target else 'missed'}) |"
            )
    finally:
        for name in ("local", "remote"):
            subprocess.run([PODBAY, "delete", name, "--yes", "--force"], env=env,
                           capture_output=True)  # fmt: skip
        remove_machine(machine)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
