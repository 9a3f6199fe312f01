"""SSH attach: podbay's ProxyCommand vs a hand-written `docker exec ... sshd -i`, in one run.

Prints a markdown table for docs/benchmarks.md. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PODBAY = str(Path(sys.executable).parent / "podbay")
IMAGE = "podbay-test/debian:bookworm"
SINK_PORT = 9099
SINK = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('127.0.0.1', {SINK_PORT})); s.listen(1)\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    while c.recv(1 << 20): pass\n"
    "    c.sendall(b'done'); c.close()\n"
)


def timed(
    argv: list[str],
    env: dict[str, str],
    repeat: int,
    stdin: int | None = None,
    reset: list[str] | None = None,
) -> float:
    samples = []
    for _ in range(repeat):
        if reset:
            subprocess.run(reset, env=env, capture_output=True, check=False)
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdin=stdin, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def throughput(argv: list[str], env: dict[str, str], size: int) -> float:
    """MB/s for `size` bytes of zeros piped into argv."""
    start = time.perf_counter()
    feeder = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    subprocess.run(argv, env=env, stdin=feeder.stdout, capture_output=True, check=True)
    feeder.wait()
    return size / (time.perf_counter() - start) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podbay-ssh-bench-"))
    home = work / "home"
    env = {**os.environ, "PODBAY_HOME": str(home)}
    folder = work / "sshbench"
    (folder / ".devcontainer").mkdir(parents=True)
    (folder / ".devcontainer" / "devcontainer.json").write_text(json.dumps({"image": IMAGE}))
    subprocess.run([PODBAY, "up", str(folder)], env=env, capture_output=True, check=True)
    status = json.loads(
        subprocess.run(
            [PODBAY, "status", "sshbench", "--json"], env=env, capture_output=True, check=True
        ).stdout
    )
    container = status["containerId"]

    podbay_cfg = home / "ssh_config"
    text = podbay_cfg.read_text()
    proxy = next(line for line in text.splitlines() if "ProxyCommand" in line)
    hand = (
        f"  ProxyCommand docker exec -i -u root {container} /bin/sh -c "
        "'mkdir -p /run/sshd; exec /usr/sbin/sshd -i -e -f /etc/podbay/ssh/sshd_config'"
    )
    # The hand-written one as people write it: no multiplexing (and not podbay's socket).
    hand_cfg = work / "hand_config"
    hand_cfg.write_text(
        "\n".join(
            line for line in text.replace(proxy, hand).splitlines() if "  Control" not in line
        )
    )
    # And with the same ControlMaster lines as podbay's, on a socket of its own.
    hand_mux_cfg = work / "hand_mux_config"
    hand_mux_cfg.write_text(
        text.replace(proxy, hand).replace(str(home / "cm"), str(work / "hand-cm"))
    )
    (work / "hand-cm").mkdir(mode=0o700)
    host = "sshbench.podbay"
    n = args.repeat
    size = args.mib << 20
    rows: list[tuple[str, str, str, str]] = []

    def ssh_true(cfg: Path, *options: str, first: bool = False) -> float:
        # first: the master of the last run closed, untimed, so each run starts one.
        reset = ["ssh", "-F", str(cfg), "-O", "exit", host] if first else None
        return timed(["ssh", "-F", str(cfg), *options, host, "true"], env, n, reset=reset)

    def row(label: str, podbay_s: float, hand_s: float) -> None:
        rows.append((label, f"{podbay_s:.3f} s", f"{hand_s:.3f} s", f"{podbay_s / hand_s:.2f}x"))

    hand_true = ssh_true(hand_cfg)
    row(
        "`ssh NAME.podbay true`, first connection (starts the master)",
        ssh_true(podbay_cfg, first=True),
        hand_true,
    )
    row(
        "`ssh NAME.podbay true`, multiplexing turned off (`-S none`)",
        ssh_true(podbay_cfg, "-S", "none"),
        hand_true,
    )
    row(
        "`ssh NAME.podbay true`, back to back as configured (master kept 1 s)",
        ssh_true(podbay_cfg),
        hand_true,
    )
    row(
        "same, against the hand-written one multiplexed too",
        ssh_true(podbay_cfg),
        ssh_true(hand_mux_cfg),
    )
    cli_true = timed([PODBAY, "ssh", "sshbench", "--", "true"], env, n, stdin=subprocess.DEVNULL)
    rows.append(("`podbay ssh NAME -- true`", f"{cli_true:.3f} s", "-", "-"))
    # What a session may be given costs a first connection: a secret (read from the keyring,
    # or podbay's file), then also git's HTTPS credentials (the lender is not waited for).
    subprocess.run(
        [PODBAY, "secret", "set", "BENCH_SECRET"],
        env=env,
        input=b"v",
        capture_output=True,
        check=True,
    )
    row("same first connection, one secret set", ssh_true(podbay_cfg, first=True), hand_true)
    subprocess.run(
        [PODBAY, "git-hosts", "sshbench", "--add", "https://git.example.invalid"],
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    row("same, and HTTPS credentials lent", ssh_true(podbay_cfg, first=True), hand_true)
    subprocess.run([PODBAY, "secret", "rm", "BENCH_SECRET"], env=env, capture_output=True)
    subprocess.run(
        [PODBAY, "git-hosts", "sshbench", "--remove", "https://git.example.invalid"],
        env=env, capture_output=True,
    )  # fmt: skip

    sink = ["cat > /dev/null"]
    podbay_mbs = statistics.median(
        throughput(["ssh", "-F", str(podbay_cfg), host, *sink], env, size) for _ in range(3)
    )
    hand_mbs = statistics.median(
        throughput(["ssh", "-F", str(hand_cfg), host, *sink], env, size) for _ in range(3)
    )
    rows.append(
        (
            f"{args.mib} MiB into `cat > /dev/null`",
            f"{podbay_mbs:.0f} MB/s",
            f"{hand_mbs:.0f} MB/s",
            f"{podbay_mbs / hand_mbs:.2f}x",
        )
    )

    subprocess.run(["docker", "exec", "-d", container, "python3", "-c", SINK], check=True)
    local = free_port()
    forward = subprocess.Popen(
        [PODBAY, "forward", "sshbench", f"{SINK_PORT}:{local}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert forward.stdout is not None
    forward.stdout.readline()
    forward_mbs = statistics.median(send_through(local, size) for _ in range(3))
    forward.terminate()
    forward.wait()
    rows.append((f"{args.mib} MiB through `podbay forward`", f"{forward_mbs:.0f} MB/s", "-", "-"))

    print(
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {platform.node()}, {os.cpu_count()} cores. "
        f"Medians of {n} runs (throughput: of 3).\n"
    )
    print("| scenario | podbay | hand-written ProxyCommand | podbay / hand |")
    print("| --- | --- | --- | --- |")
    for line in rows:
        print("| " + " | ".join(line) + " |")
    subprocess.run([PODBAY, "delete", "sshbench", "--yes"], env=env, capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send_through(port: int, size: int) -> float:
    chunk = b"\0" * (1 << 20)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        sent = 0
        while sent < size:
            conn.sendall(chunk)
            sent += len(chunk)
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(4) == b"done"
    return size / (time.perf_counter() - start) / 1e6


if __name__ == "__main__":
    main()
