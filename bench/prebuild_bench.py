"""Prebuilds and rooms, side by side with the reference devcontainer CLI and raw docker.

- Fresh `up` building three local features (each copies /usr/share: a stand-in for a feature
  that installs a toolchain; new option values each run, so nothing comes from the builder
  cache), against a fresh `up` from the same config's prebuild, pulled each time from a
  registry on 127.0.0.1 (basic auth). The reference CLI builds the same features; with the
  prebuild it is given the image (`"image": PREBUILD`), as its users would. Raw docker:
  `docker build` of the equivalent Dockerfile and `docker run`; `docker pull` and `docker run`.
  Target: up from a prebuild <= 0.3 x up building the features.
- A room of 20 (`up --count 20`) from the prebuild, pulled once, against one `up` from it.
  Raw docker: one pull and 20 `docker run`s at once. Target: <= 3 x one workspace's `up`.

Not a test: asserts nothing. Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from bench import (  # noqa: E402
    IMAGE,
    PODBAY,
    REFERENCE,
    container_of,
    remove_quietly,
    report,
    run,
    timed,
)

FEATURES = ("alpha", "beta", "gamma")
ROOM = 20


def write_project(folder: Path, word: str, prebuilds: str | None = None) -> None:
    dc = folder / ".devcontainer"
    for name in FEATURES:
        (dc / name).mkdir(parents=True, exist_ok=True)
        manifest = {"id": name, "options": {"word": {"type": "string", "default": "x"}}}
        (dc / name / "devcontainer-feature.json").write_text(json.dumps(manifest))
        (dc / name / "install.sh").write_text(
            f'#!/bin/sh\nset -e\ncp -r /usr/share /opt/{name}\necho "$WORD" > /opt/{name}.txt\n'
        )
    config: dict[str, object] = {
        "image": IMAGE,
        "features": {f"./{name}": {"word": word} for name in FEATURES},
    }
    if prebuilds:
        config["customizations"] = {"podbay": {"prebuild": prebuilds}}
    (dc / "devcontainer.json").write_text(json.dumps(config))


def dockerfile(word: str) -> str:
    return f"FROM {IMAGE}\n" + "".join(
        f'RUN cp -r /usr/share /opt/{name} && echo "{word}" > /opt/{name}.txt\n'
        for name in FEATURES
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--room-repeat", type=int, default=3)
    args = parser.parse_args()
    from tests.registries import PASSWORD, USER, start_registry

    work = Path(tempfile.mkdtemp(prefix="podbay-prebuild-bench-"))
    with start_registry(work / "registry", basic_auth=True) as registry:
        login = work / "docker-config"
        login.mkdir()
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (login / "config.json").write_text(
            json.dumps({"auths": {registry.address: {"auth": auth}}})
        )
        env = {**os.environ, "PODBAY_HOME": str(work / "home"), "DOCKER_CONFIG": str(login)}
        docker = ["docker", "--config", str(login)]
        repo = f"{registry.address}/bench/class"
        run_id = uuid.uuid4().hex[:8]
        counter = iter(range(1, 10_000))
        results: dict[str, dict[str, list[float]]] = {}

        # The prebuild, made once.
        project = work / "class"
        write_project(project, "fixed", repo)
        made = subprocess.run(
            [PODBAY, "prebuild", str(project), "--push", repo],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = re.search(r"pushed (\S+)", made.stdout)
        assert found is not None, made.stdout
        prebuild = found.group(1)
        reference_folder = work / "reference-prebuilt"
        (reference_folder / ".devcontainer").mkdir(parents=True)
        (reference_folder / ".devcontainer" / "devcontainer.json").write_text(
            json.dumps({"image": prebuild})
        )

        def forget_prebuild() -> None:
            subprocess.run(["docker", "rmi", "-f", prebuild], capture_output=True, check=False)

        # Fresh up building the features, each time with new values (no builder cache).
        building = work / "build"
        theirs = work / "reference-build"
        raw = work / "raw"
        raw.mkdir()
        names = iter(range(1, 10_000))
        built: dict[str, list[float]] = {"podbay": [], "reference": [], "raw docker": []}
        pulled: dict[str, list[float]] = {"podbay": [], "reference": [], "raw docker": []}
        for _ in range(args.repeat):
            word = f"v{next(counter)}-{run_id}"
            write_project(building, word)
            write_project(theirs, word)
            (raw / "Dockerfile").write_text(dockerfile(word))
            name = f"b{next(names)}"
            built["podbay"] += timed(
                functools.partial(run, [PODBAY, "up", str(building), "--name", name], env), None, 1
            )
            run([PODBAY, "delete", name, "--yes"], env)
            built["reference"] += timed(
                lambda: run([REFERENCE, "up", "--workspace-folder", str(theirs),
                             "--remove-existing-container"]),
                None, 1,
            )  # fmt: skip
            tag = f"podbay-bench-raw:{word}"
            raw_name = f"podbay-bench-raw-{os.getpid()}"

            def raw_build(tag: str = tag, raw_name: str = raw_name) -> None:
                run(["docker", "build", "-q", "-t", tag, str(raw)])
                run(["docker", "run", "-d", "--name", raw_name, "--entrypoint", "/bin/sh", tag,
                     "-c", "sleep infinity"])  # fmt: skip

            built["raw docker"] += timed(raw_build, None, 1)
            remove_quietly(raw_name)
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)

            # The same, from the prebuild (pulled each time).
            name = f"p{next(names)}"
            pulled["podbay"] += timed(
                functools.partial(run, [PODBAY, "up", str(project), "--name", name], env),
                forget_prebuild, 1,
            )  # fmt: skip
            run([PODBAY, "delete", name, "--yes"], env)
            pulled["reference"] += timed(
                lambda: run([REFERENCE, "up", "--workspace-folder", str(reference_folder),
                             "--remove-existing-container"], env),
                forget_prebuild, 1,
            )  # fmt: skip

            def raw_pull(raw_name: str = raw_name) -> None:
                run([*docker, "pull", "-q", prebuild])
                run(["docker", "run", "-d", "--name", raw_name, "--entrypoint", "/bin/sh",
                     prebuild, "-c", "sleep infinity"])  # fmt: skip

            pulled["raw docker"] += timed(raw_pull, forget_prebuild, 1)
            remove_quietly(raw_name)
        results["fresh up building 3 local features"] = built
        results["fresh up from their prebuild (pulled from a registry on 127.0.0.1)"] = pulled
        remove_quietly(container_of(theirs))
        remove_quietly(container_of(reference_folder))

        # A room of 20 from the prebuild, against one up from it.
        room: dict[str, list[float]] = {"podbay": [], "raw docker": []}
        for _ in range(args.room_repeat):
            room["podbay"] += timed(
                lambda: run([PODBAY, "up", str(project), "--count", str(ROOM), "--prefix",
                             "r-"], env),
                forget_prebuild, 1,
            )  # fmt: skip
            run([PODBAY, "delete", "--prefix", "r-", "--yes"], env)

            def raw_room() -> None:
                """One pull, then the 20 `docker run`s at once (as fast as Docker goes)."""
                run([*docker, "pull", "-q", prebuild])
                argv = ["docker", "run", "-d", "--entrypoint", "/bin/sh"]
                started = [
                    subprocess.Popen(
                        [*argv, "--name", f"podbay-bench-room-{i}", prebuild, "-c", "sleep 1d"],
                        stdout=subprocess.DEVNULL,
                    )
                    for i in range(ROOM)
                ]
                if any(p.wait() != 0 for p in started):
                    raise SystemExit("docker run failed")

            room["raw docker"] += timed(raw_room, forget_prebuild, 1)
            for i in range(ROOM):
                remove_quietly(f"podbay-bench-room-{i}")
        results[f"room of {ROOM} from the prebuild (up --count {ROOM})"] = room
        forget_prebuild()

    print(report(results, args.repeat))
    print()
    one = sorted(pulled["podbay"])[len(pulled["podbay"]) // 2]
    many = sorted(room["podbay"])[len(room["podbay"]) // 2]
    building_median = sorted(built["podbay"])[len(built["podbay"]) // 2]
    print(
        f"up from the prebuild / up building: {one / building_median:.2f}x (target <= 0.3x); "
        f"room of {ROOM} / one up from the prebuild: {many / one:.2f}x (target <= 3x)"
    )


if __name__ == "__main__":
    main()
