"""Per-connection entry points that must start fast: `podbay exec`, `podbay ssh`, and the ssh
ProxyCommand's full read of a record (core/ssh/proxy.py takes a quicker way when it can).

Imports only os, sys, json and sqlite3 (no pydantic, docker SDK, asyncio, argparse, pathlib or
typing at run time): every millisecond here is added to every `podbay exec`.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from podbay import IMPORT_ROOT
from podbay.core import used
from podbay.core.docker_cli import current_context_host, docker_cli
from podbay.core.errors import PodbayError
from podbay.core.ssh.sshd import SSHD_SCRIPT

if TYPE_CHECKING:
    from typing import NoReturn


def _home() -> str:
    env = os.environ.get("PODBAY_HOME")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    from podbay.core import paths

    return str(paths.home())


def _one(sql: str, value: str) -> str | None:
    """The first column of the first row `sql` finds for `value` in podbay.db, opened
    read-only (no store, no models: the attach verbs start fast); None when there is none."""
    try:
        # Quoted: a '#' or '?' in the path would end the file name of a URI.
        uri = "file:" + urllib.parse.quote(f"{_home()}/podbay.db") + "?mode=ro"
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.OperationalError:
        return None
    try:
        row = db.execute(sql, (value,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    return None if row is None else str(row[0])


def _read(table: str, name: str) -> dict[str, Any] | None:
    data = _one(f"SELECT data FROM {table} WHERE name=?", name)
    return None if data is None else dict(json.loads(data))


def read_meta(key: str) -> str | None:
    """A setting from the store, read as the records are."""
    return _one("SELECT value FROM meta WHERE key=?", key)


class StoreView:
    """The store's settings, read as the records are (core.secrets_store.Settings)."""

    @property
    def root(self) -> Path:
        return Path(_home())

    def get_meta(self, key: str) -> str | None:
        return read_meta(key)


class AttachRecord(TypedDict, total=False):
    """The fields of a stored Workspace the fast path reads, as JSON (no pydantic here)."""

    name: str
    provider: str
    phase: str
    usable: bool
    container_id: str  # the functions below are given records that have one
    machine: dict[str, Any]  # a MachineRecord: {"ssh": {...} | None, "extra": {...}}
    remote_user: str | None
    workspace_folder: str | None
    remote_env: dict[str, str]
    attach_hooks: list[dict[str, Any]]
    forward_ports: list[int | str]
    vscode_extensions: list[str]
    ssh_ready: bool
    ssh_note: str
    source: dict[str, Any]  # {"kind", "value", "ref"}
    git_hosts: list[str]


def machine_ssh(record: AttachRecord) -> dict[str, Any] | None:
    """The SSH address of the workspace's own machine (None on a shared engine)."""
    machine = record.get("machine") or {}
    if "ssh" in machine or "extra" in machine:
        ssh = machine.get("ssh")
        return ssh if isinstance(ssh, dict) else None
    return machine if machine.get("host") else None  # a record written before 0.2: flat


def ready_record(name: str) -> AttachRecord:
    """The workspace's stored record, read without pydantic; it must have a finished container."""
    record = cast("AttachRecord | None", _read("workspaces", name))
    if record is None:
        raise PodbayError(f"no workspace named {name!r}", "see: podbay list")
    unfinished = record.get("phase") == "creating" and not record.get("usable")
    if not record.get("container_id") or unfinished:
        raise PodbayError(f"workspace {name} has no finished container", f"run: podbay up {name}")
    used.mark(_home(), name)  # exec, ssh and the TUI's shell come here
    return record


def record_with_container(name: str) -> AttachRecord:
    """The workspace's stored record, which must name a container (finished or not)."""
    record = cast("AttachRecord | None", _read("workspaces", name))
    if record is None:
        raise PodbayError(f"no workspace named {name!r}", "see: podbay list")
    if not record.get("container_id"):
        raise PodbayError(f"workspace {name} has no container yet", f"run: podbay up {name}")
    return record


def docker_base(record: AttachRecord) -> list[str]:
    """How to run the docker CLI against the workspace's engine: here, or on its own machine
    through podbay's SSH relay (core.ssh.relay), which runs the rest of the line there."""
    if machine_ssh(record) is not None:
        code = (
            f"import sys; sys.path.insert(0, {IMPORT_ROOT!r}); "
            "from podbay.core.ssh import relay; relay.main()"
        )
        return [sys.executable, "-E", "-c", code, record["name"], "docker"]
    provider = _read("providers", record.get("provider", "")) or {}
    host = (provider.get("options") or {}).get("host") or current_context_host()
    return [docker_cli(), *(["-H", str(host)] if host else [])]


def exec_argv(record: AttachRecord, cmd: list[str], tty: bool) -> list[str]:
    argv = [*docker_base(record), "exec", "-i", *(["-t"] if tty else [])]
    # root by id: works in images without /etc/passwd (the same rule as core.docker.exec_user).
    user = record.get("remote_user")
    argv += ["-u", "0" if user in (None, "", "root") else user]
    if folder := record.get("workspace_folder"):
        argv += ["-w", folder]
    for key, value in (record.get("remote_env") or {}).items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, record["container_id"], *cmd]


POST_ATTACH_LOG = "/tmp/podbay-post-attach.log"


def _shell_command(command: Any) -> str:
    """One lifecycle command as a line of sh: a string as written, an array quoted, an object's
    parts side by side (the spec runs them in parallel)."""
    if isinstance(command, str):
        return f"( {command}\n)" if command.strip() else ":"
    if isinstance(command, list):
        return shlex.join(str(part) for part in command) if command else ":"
    if isinstance(command, dict):
        parts = [f"{_shell_command(part)} &" for part in command.values()]
        return " ".join([*parts, "wait"]) if parts else ":"
    return ":"


def post_attach_argv(record: AttachRecord) -> list[str] | None:
    """postAttachCommand, run detached in the container (each contribution in order, image and
    features first), its output in POST_ATTACH_LOG; None when there is none."""
    hooks = [h.get("command") for h in record.get("attach_hooks") or [] if isinstance(h, dict)]
    hooks = [h for h in hooks if h]
    if not hooks:
        return None
    script = " && ".join(_shell_command(h) for h in hooks)
    argv = exec_argv(record, ["/bin/sh", "-c", f"{{ {script}\n}} > {POST_ATTACH_LOG} 2>&1"], False)
    argv.insert(argv.index("exec") + 1, "-d")
    return argv


def with_secrets(
    record: AttachRecord, argv: list[str], values: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """A `docker exec` argv given the workspace's secrets by name only (`-e NAME`: the docker
    CLI takes each value from its own environment, so none is in a process's arguments), and
    that environment. On a workspace's own machine the relay carries them to the machine's
    docker CLI (core.ssh.relay), but not into a terminal, whose PTY would echo them: a note
    says so."""
    if not values:
        return argv, {}
    at = argv.index(record["container_id"])
    if machine_ssh(record) is not None and "-t" in argv[:at]:
        print(
            f"podbay: secrets are not given to a terminal on {record.get('name')}'s own "
            "machine; `podbay ssh NAME` has them",
            file=sys.stderr,
        )
        return argv, {}
    return [*argv[:at], *(w for name in values for w in ("-e", name)), *argv[at:]], values


def run_post_attach(record: AttachRecord, name: str, secrets: dict[str, str] | None = None) -> None:
    """Start postAttachCommand for an attach (podbay ssh, podbay code), with the workspace's
    `secrets`; says where its output goes. Failing to start it is reported, never fatal: the
    user still gets their shell."""
    argv = post_attach_argv(record)
    if argv is None:
        return
    import subprocess

    argv, env = with_secrets(record, argv, secrets or {})
    started = subprocess.run(
        argv, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if started.returncode == 0:
        print(
            f"podbay: postAttachCommand started in {name} (output: {POST_ATTACH_LOG})",
            file=sys.stderr,
        )
    else:
        reason = (started.stderr.strip().splitlines() or ["no reason given"])[-1]
        print(f"podbay: postAttachCommand could not start: {reason}", file=sys.stderr)


def stopped_error(record: AttachRecord) -> PodbayError | None:
    """A clear error when the workspace's container is not running (asked of its engine);
    None when it runs or the engine cannot say."""
    import subprocess

    argv = [*docker_base(record), "inspect", "-f", "{{.State.Running}}", record["container_id"]]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode == 0 and done.stdout.strip() == "false":
        name = record.get("name", "")
        return PodbayError(f"workspace {name} is stopped", f"start it: podbay start {name}")
    return None


def sshd_argv(record: AttachRecord) -> list[str]:
    """The exec channel to the container's `sshd -i` (what OpenSSH's ProxyCommand runs)."""
    return [
        *docker_base(record),
        "exec",
        "-i",
        "-u",
        "0",
        record["container_id"],
        "/bin/sh",
        "-c",
        SSHD_SCRIPT,
    ]


def replace_process(argv: list[str], env: dict[str, str] | None = None) -> NoReturn:
    """Become `argv` (`env` added to this process's environment)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if env:
        os.execve(argv[0], argv, {**os.environ, **env})
    os.execv(argv[0], argv)


def stdio_argv(name: str) -> list[str]:
    record = ready_record(name)
    if not record.get("ssh_ready"):
        raise PodbayError(
            f"workspace {name} has no SSH server: {record.get('ssh_note') or 'not set up'}",
            f"`podbay ssh {name}` still works (it falls back to docker exec)",
        )
    return sshd_argv(record)
