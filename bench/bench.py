"""podbay vs the reference devcontainer CLI vs raw docker, side by side in one run.

Run with `make bench` (it installs the reference CLI from npm into bench/.ref). Prints a markdown
table of medians and ratios for docs/benchmarks.md. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PODBAY = str(Path(sys.executable).parent / "podbay")
REFERENCE = str(HERE / ".ref" / "node_modules" / ".bin" / "devcontainer")
IMAGE = "podbay-test/debian:bookworm"
# Most devcontainer base images have no sshd: the timed `up`s use one (--image to change).
NO_SSHD = "podbay-test/debian-no-sshd:latest"
CONFIG = {"image": NO_SSHD, "postCreateCommand": "echo created > /tmp/created"}


def no_sshd_image() -> None:
    """The test image without openssh-server (as tests/docker/test_ssh_attach.py makes it)."""
    found = subprocess.run(["docker", "images", "-q", NO_SSHD], capture_output=True, text=True)
    if found.stdout.strip():
        return
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "Dockerfile").write_text(
            f"FROM {IMAGE}\nRUN apt-get purge -y -qq openssh-server openssh-sftp-server >/dev/null"
            " && ! command -v sshd\n"
        )
        run(["docker", "build", "-q", "-t", NO_SSHD, folder])


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")


def timed(action: Callable[[], None], reset: Callable[[], None] | None, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        if reset:
            reset()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def container_of(folder: Path) -> str:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=devcontainer.local_folder={folder}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0] if out else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--list-size", type=int, default=200)
    args = parser.parse_args()
    n = args.repeat
    no_sshd_image()
    # Byte-code compiled, as an installed package is (pip compiles at install): with
    # PYTHONDONTWRITEBYTECODE set, a changed module would be compiled again at every run.
    source = [str(HERE.parent / part) for part in ("core", "providers", "tui", "assets")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *source], check=True)

    work = Path(tempfile.mkdtemp(prefix="podbay-bench-"))
    env = {**os.environ, "PODBAY_HOME": str(work / "home")}
    folders = {}
    for who in ("podbay", "reference", "raw"):
        folder = work / who
        (folder / ".devcontainer").mkdir(parents=True)
        (folder / ".devcontainer" / "devcontainer.json").write_text(json.dumps(CONFIG))
        folders[who] = folder

    def podbay(*a: str) -> Callable[[], None]:
        return lambda: run([PODBAY, *a], env)

    def reference(*a: str) -> Callable[[], None]:
        verb, *rest = a
        return lambda: run(
            [REFERENCE, verb, "--workspace-folder", str(folders["reference"]), *rest]
        )

    raw_name = f"podbay-bench-raw-{os.getpid()}"

    def raw_up() -> None:
        run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                raw_name,
                "-v",
                f"{folders['raw']}:/workspaces/raw",
                "--entrypoint",
                "/bin/sh",
                NO_SSHD,
                "-c",
                "sleep infinity",
            ]
        )
        run(["docker", "exec", raw_name, "sh", "-c", CONFIG["postCreateCommand"]])

    results: dict[str, dict[str, list[float]]] = {}
    # The first `up` on a machine makes the volume of its portable sshd (core/ssh/bundle.py),
    # once: timed apart, when no container of the machine uses that volume yet.
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", "name=podbay-sshd-"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    removed = all(
        subprocess.run(["docker", "volume", "rm", v], capture_output=True).returncode == 0
        for v in volumes
    )
    if removed:
        results["first up on this machine (its sshd volume made)"] = {
            "podbay": timed(podbay("up", str(folders["podbay"])), None, 1)
        }
        run([PODBAY, "delete", "podbay", "--yes"], env)
    # Warm-up: first runs pay for disk caches and node's module cache.
    podbay("up", str(folders["podbay"]))()
    reference("up")()

    results["fresh up (image present, one postCreate hook)"] = {
        "podbay": timed(
            podbay("up", str(folders["podbay"])),
            lambda: run([PODBAY, "delete", "podbay", "--yes"], env),
            n,
        ),
        "reference": timed(
            reference("up"), lambda: remove_quietly(container_of(folders["reference"])), n
        ),
        "raw docker": timed(raw_up, lambda: remove_quietly(raw_name), n),
    }
    results["up of a running workspace"] = {
        "podbay": timed(podbay("up", "podbay"), None, n),
        "reference": timed(reference("up"), None, n),
        "raw docker": timed(lambda: run(["docker", "start", raw_name]), None, n),
    }
    results["exec true"] = {
        "podbay": timed(podbay("exec", "podbay", "--", "true"), None, n),
        "reference": timed(reference("exec", "true"), None, n),
        "raw docker": timed(lambda: run(["docker", "exec", raw_name, "true"]), None, n),
    }
    remove_quietly(raw_name)

    # list with many workspaces: real (created, not started) containers and their records.
    list_env = {**os.environ, "PODBAY_HOME": str(work / "list-home")}
    populate_list(Path(list_env["PODBAY_HOME"]), args.list_size)
    results[f"list with {args.list_size} workspaces"] = {
        "podbay": timed(lambda: run([PODBAY, "list"], list_env), None, n),
        "raw docker": timed(
            lambda: run(["docker", "ps", "-a", "--filter", "label=dev.podbay.workspace"]), None, n
        ),
    }
    # Its 200 containers go before the next rows: they slow every create and start a little.
    cleanup_list(Path(list_env["PODBAY_HOME"]))
    offline_bench(work, n, results)
    features_bench(work, n, results)
    results["startup: podbay --help (import cost)"] = {
        "podbay": timed(lambda: run([PODBAY, "--help"]), None, n),
    }

    print(report(results, n))
    run([PODBAY, "delete", "podbay", "--yes"], env)
    remove_quietly(container_of(folders["reference"]))
    shutil.rmtree(work, ignore_errors=True)


def offline_bench(work: Path, n: int, results: dict[str, dict[str, list[float]]]) -> None:
    """Fresh `up` with the network cut: the container on an internal Docker network (no route,
    no DNS), podbay and the reference CLI in a network namespace of their own (`unshare --net`:
    loopback only; Docker is reached through its unix socket)."""
    network = f"podbay-bench-offline-{os.getpid()}"
    run(["docker", "network", "create", "--internal", network])
    env = {**os.environ, "PODBAY_HOME": str(work / "offline-home")}
    config = {**CONFIG, "runArgs": ["--network", network]}
    folders = {}
    for who in ("podbay", "reference"):
        folder = work / "offline" / who
        (folder / ".devcontainer").mkdir(parents=True)
        (folder / ".devcontainer" / "devcontainer.json").write_text(json.dumps(config))
        folders[who] = folder
    cut = ["unshare", "--net"]
    raw_name = f"podbay-bench-offline-raw-{os.getpid()}"

    def raw_up() -> None:
        run(["docker", "run", "-d", "--name", raw_name, "--network", network,
             "--entrypoint", "/bin/sh", NO_SSHD, "-c", "sleep infinity"])  # fmt: skip
        run(["docker", "exec", raw_name, "sh", "-c", CONFIG["postCreateCommand"]])

    podbay_up = [*cut, PODBAY, "up", str(folders["podbay"])]
    reference_up = [*cut, REFERENCE, "up", "--workspace-folder", str(folders["reference"])]
    try:
        run(podbay_up, env)  # warm-up, as for the fresh up above (each run's reset deletes)
        results["fresh up, network cut (internal network, no route, no DNS)"] = {
            "podbay": timed(
                lambda: run(podbay_up, env),
                lambda: run([PODBAY, "delete", "podbay", "--yes"], env),
                n,
            ),
            "reference": timed(
                lambda: run(reference_up),
                lambda: remove_quietly(container_of(folders["reference"])),
                n,
            ),
            "raw docker": timed(raw_up, lambda: remove_quietly(raw_name), n),
        }
    finally:
        subprocess.run([PODBAY, "delete", "podbay", "--yes"], env=env, capture_output=True)
        remove_quietly(container_of(folders["reference"]))
        remove_quietly(raw_name)
        subprocess.run(["docker", "network", "rm", network], capture_output=True, check=False)


FEATURES = ("alpha", "beta", "gamma")


def write_feature_config(folder: Path, option: str) -> None:
    """Three local features; `option` goes to the middle one, so changing it leaves the first
    one's layer to the builder cache."""
    dc = folder / ".devcontainer"
    for name in FEATURES:
        (dc / name).mkdir(parents=True, exist_ok=True)
        manifest = {"id": name, "options": {"word": {"type": "string", "default": "x"}}}
        (dc / name / "devcontainer-feature.json").write_text(json.dumps(manifest))
        (dc / name / "install.sh").write_text(
            f'#!/bin/sh\nset -e\ncp -r /usr/share/doc /opt/{name}\necho "$WORD" > /opt/{name}.txt\n'
        )
    config = {
        "image": IMAGE,
        "features": {"./alpha": {}, "./beta": {"word": option}, "./gamma": {}},
        "overrideFeatureInstallOrder": ["./alpha", "./beta", "./gamma"],
    }
    (dc / "devcontainer.json").write_text(json.dumps(config))


def features_bench(work: Path, n: int, results: dict[str, dict[str, list[float]]]) -> None:
    """Rebuild after one feature's option changed, and an unchanged --rebuild, side by side."""
    env = {**os.environ, "PODBAY_HOME": str(work / "feature-home")}
    mine, theirs, raw = work / "feat-podbay", work / "feat-reference", work / "feat-raw"
    for folder in (mine, theirs):
        write_feature_config(folder, "v0")
    raw.mkdir()
    (raw / "Dockerfile").write_text(
        f"FROM {IMAGE}\n"
        + "".join(
            ("ARG WORD\n" if name == "beta" else "")
            + f'RUN cp -r /usr/share/doc /opt/{name} && echo "{"$WORD" if name == "beta" else "x"}"'
            f" > /opt/{name}.txt\n"
            for name in FEATURES
        )
    )
    raw_name = f"podbay-bench-feat-{os.getpid()}"
    counter = iter(range(1, 10_000))

    run_id = uuid.uuid4().hex[:8]  # builder caches outlive a run: values never repeat

    def change() -> str:
        value = f"v{next(counter)}-{run_id}"
        write_feature_config(mine, value)
        write_feature_config(theirs, value)
        return value

    def podbay_rebuild() -> None:
        run([PODBAY, "up", str(mine), "--rebuild"], env)

    def reference_rebuild() -> None:
        run([REFERENCE, "up", "--workspace-folder", str(theirs), "--remove-existing-container"])

    def raw_rebuild(word: str) -> None:
        tag = f"{raw_name}:latest"
        run(["docker", "build", "-q", "--build-arg", f"WORD={word}", "-t", tag, str(raw)])
        subprocess.run(["docker", "rm", "-f", raw_name], capture_output=True, check=False)
        run(["docker", "run", "-d", "--name", raw_name, "--entrypoint", "/bin/sh", tag, "-c",
             "sleep infinity"])  # fmt: skip

    # Warm-up: the first build of each fills the builder cache.
    podbay_rebuild()
    reference_rebuild()
    raw_rebuild("v0")
    # Samples interleaved (podbay, reference, raw, podbay, ...): a noisy VM affects all alike.
    changed: dict[str, list[float]] = {"podbay": [], "reference": [], "raw docker": []}
    same: dict[str, list[float]] = {"podbay": [], "reference": [], "raw docker": []}
    word = {"value": "v0"}
    actions = (
        ("podbay", podbay_rebuild),
        ("reference", reference_rebuild),
        ("raw docker", lambda: raw_rebuild(word["value"])),
    )
    for _ in range(n):
        word["value"] = change()
        for who, action in actions:
            changed[who] += timed(action, None, 1)
    for _ in range(n):
        for who, action in actions:
            same[who] += timed(action, None, 1)
    results["rebuild after one feature option changed (3 local features)"] = changed
    results["unchanged config, rebuild (served from the builder cache)"] = same
    run([PODBAY, "delete", mine.name, "--yes"], env)
    remove_quietly(container_of(theirs))
    remove_quietly(raw_name)
    subprocess.run(["docker", "rmi", "-f", f"{raw_name}:latest"], capture_output=True, check=False)
    for image in subprocess.run(
        ["docker", "images", "-q", "--filter", f"reference=vsc-{theirs.name}-*"],
        capture_output=True, text=True, check=False,
    ).stdout.split():  # fmt: skip
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


def remove_quietly(container: str) -> None:
    if container:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


def populate_list(home: Path, count: int) -> None:
    sys.path.insert(0, str(HERE.parent))
    import docker

    from podbay.core.devcontainer.plan import container_name
    from podbay.core.model import ProviderConfig, Source, Workspace
    from podbay.core.store import Store

    store = Store(home)
    store.save_provider(ProviderConfig(name="docker", type="docker"))
    store.set_meta("default_provider", "docker")
    store.set_meta("initialised", "1")
    client = docker.from_env()
    install_id = store.install_id()
    for i in range(count):
        name = f"bench-{i:03d}"
        created = client.api.create_container(
            IMAGE,
            command=["true"],
            name=container_name(name, install_id),
            labels={"dev.podbay.home": install_id, "dev.podbay.workspace": name},
        )
        ws = Workspace(
            name=name,
            provider="docker",
            source=Source(kind="image", value=IMAGE),
            folder=str(home / "sources" / name),
            owned_folder=True,
            container_name=container_name(name, install_id),
            container_id=created["Id"],
            phase="ready",
        )
        store.insert_workspace(ws)


def cleanup_list(home: Path) -> None:
    import docker

    from podbay.core.store import Store

    install_id = Store(home).install_id()
    client = docker.from_env()
    for c in client.api.containers(all=True, filters={"label": f"dev.podbay.home={install_id}"}):
        client.api.remove_container(c["Id"], force=True)


def report(results: dict[str, dict[str, list[float]]], n: int) -> str:
    lines = [
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {platform.node()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}. "
        f"Medians of {n} runs, seconds.",
        "",
        "| scenario | podbay | reference CLI | raw docker | podbay / reference | podbay / raw |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for scenario, by_tool in results.items():
        med = {tool: statistics.median(samples) for tool, samples in by_tool.items()}
        p, r, d = med.get("podbay"), med.get("reference"), med.get("raw docker")
        lines.append(
            f"| {scenario} | {fmt(p)} | {fmt(r)} | {fmt(d)} | {ratio(p, r)} | {ratio(p, d)} |"
        )
    return "\n".join(lines)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}x"


if __name__ == "__main__":
    main()
