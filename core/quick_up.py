"""`podbay up NAME` of a workspace that runs with an unchanged config, answered in milliseconds.

Imports only the standard library's light modules (no pydantic, docker SDK or asyncio): the
workspace's record from the database, a digest of its config file and of the local environment
variables the config reads, and one Docker API request over the engine's unix socket; on a
machine of the user's (the ssh provider), one command over the kept SSH connection
(core/ssh/mux.py) that reads the config's digest there and inspects the container. The full
`up` leaves a `quick` note in the record when a later `up` could be answered so (an image-based
config on this computer's engine or such a machine, no drift); anything else, or anything
unexpected here, returns None and the full `up` runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from podbay.core import attach, oplog
from podbay.core.docker_api import ApiError, UnixAPI, Unreachable
from podbay.core.docker_cli import current_context_host

# ${localEnv:NAME}, ${env:NAME} (its alias) and with a default: the config's inputs besides its
# own text.
_LOCAL_ENV = re.compile(r"\$\{(?:localEnv|env):([A-Za-z_][A-Za-z0-9_]*)")


def inputs(config_path: str | None, image: str | None) -> dict[str, Any] | None:
    """What the config is made of: its file's digest and the local variables it reads."""
    if config_path is None:
        return {"digest": hashlib.sha256((image or "").encode()).hexdigest(), "env": {}}
    try:
        with open(config_path, "rb") as file:
            data = file.read()
    except OSError:
        return None
    names = sorted(set(_LOCAL_ENV.findall(data.decode("utf-8", "replace"))))
    return {
        "digest": hashlib.sha256(data).hexdigest(),
        "env": {name: os.environ.get(name) for name in names},
    }


def try_up(args: list[str]) -> int | None:
    """The exit code when `podbay up ARGS` was answered here; None: run the full `up`."""
    json_mode = "--json" in args
    rest = [a for a in args if a != "--json"]
    if len(rest) != 1 or rest[0].startswith("-") or os.path.exists(rest[0]):
        return None
    name = rest[0]
    try:
        if _busy(name):
            return None  # another command works on it: the full `up` waits its turn
        record = attach._read("workspaces", name)
        if record is None or not _ready(record):
            return None
        quick = record.get("quick") or {}
        if attach.machine_ssh(record) is not None:  # type: ignore[arg-type]
            # The config is on the machine: its digest is compared there.
            env = (quick.get("inputs") or {}).get("env") or {}
            if any(os.environ.get(name) != value for name, value in env.items()):
                return None
        elif inputs(quick.get("config_path"), record.get("image")) != quick.get("inputs"):
            return None
        if not _container_as_left(record, quick):
            return None
    except Exception:
        return None  # whatever it was, the full `up` knows how to say it
    folder = record.get("workspace_folder") or ""
    line = f"==> workspace {name} is ready ({folder})"
    oplog.append(
        oplog.path(os.path.join(attach._home(), "logs"), name), [oplog.header("up", "CLI"), line]
    )
    print(line, file=sys.stderr, flush=True)
    if json_mode:
        answer = {
            "outcome": "success",
            "name": name,
            "containerId": record["container_id"],
            "remoteUser": record.get("remote_user"),
            "remoteWorkspaceFolder": record.get("workspace_folder"),
        }
        print(json.dumps(answer))
    else:
        print(f"{name} is running. Try: podbay exec {name} -- {record.get('shell') or 'bash'}")
    return 0


def _busy(name: str) -> bool:
    import fcntl

    try:
        fd = os.open(os.path.join(attach._home(), "locks", f"{name}.lock"), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _ready(record: dict[str, Any]) -> bool:
    container = record.get("container_id")
    return bool(
        container
        and record.get("phase") == "ready"
        and record.get("usable")
        and record.get("hooks_container") == container
        and record.get("ssh_container") == container
    )


def _container_as_left(record: dict[str, Any], quick: dict[str, Any]) -> bool:
    """The container the last `up` left, still running since the start its postStartCommand
    ran for, made from this config."""
    provider = attach._read("providers", str(record.get("provider") or "")) or {}
    machine = attach.machine_ssh(record)  # type: ignore[arg-type]
    if provider.get("type") == "ssh" and machine is not None:
        info = _inspect_on_machine(record, machine, quick)
    elif provider.get("type") == "docker" and machine is None:
        host = (provider.get("options") or {}).get("host") or current_context_host() or ""
        if host and not host.startswith("unix://"):
            return False
        path = host.removeprefix("unix://") or "/var/run/docker.sock"
        info = _inspect(path, str(record["container_id"]))
    else:
        return False
    if info is None or info.get("Id") != record["container_id"]:
        return False
    state = info.get("State") or {}
    labels = (info.get("Config") or {}).get("Labels") or {}
    return bool(
        state.get("Running")
        and not state.get("Paused")
        and state.get("StartedAt") == record.get("post_start_at")
        and labels.get("dev.podbay.config_hash") == quick.get("config_hash")
    )


def _inspect_on_machine(
    record: dict[str, Any], machine: dict[str, Any], quick: dict[str, Any]
) -> dict[str, Any] | None:
    """On a machine of the user's (the ssh provider), over the kept connection
    (core/ssh/mux.py): the container's inspect, through the machine's Docker socket forwarded
    on it (made the first time), while the config file's digest is read there at the same
    time; None unless the config is the one the last `up` read and the machine answers."""
    import shlex
    import subprocess

    from podbay.core.ssh import keys, mux

    home = Path(attach._home())
    key = keys.of(home, str(record["name"])).client_key
    container = str(record["container_id"])
    config = quick.get("config_path")
    reading = None
    if config is not None:
        digest = f"sha256sum -- {shlex.quote(str(config))} | cut -c1-64"
        argv = mux.argv(home, machine, key, digest, False)
        if argv is None:
            return None
        reading = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    inspect = shlex.join(["docker", "inspect", "--type", "container", "--", container])
    argv = mux.argv(home, machine, key, inspect, False)
    info = None
    if argv is not None:
        forwarded = mux.docker_socket(argv)
        info = _inspect(forwarded, container) if forwarded else None
        if info is None:  # no forward yet (or its master went): the docker CLI there
            done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
            found = json.loads(done.stdout) if done.returncode == 0 else None
            info = found[0] if isinstance(found, list) and found else None
            mux.forward_docker(argv)  # for next time, over the master that command left
    if reading is not None:
        said, _ = reading.communicate(timeout=15)
        wanted = (quick.get("inputs") or {}).get("digest")
        if reading.returncode != 0 or said.decode().strip() != wanted:
            return None
    return info if isinstance(info, dict) else None


def _inspect(path: str, container: str) -> dict[str, Any] | None:
    """GET /containers/ID/json over the engine's socket; None unless it answers."""
    try:
        found = UnixAPI(path, 5).request("GET", f"/containers/{container}/json")
    except (ApiError, Unreachable):
        return None
    return found if isinstance(found, dict) else None
