"""Lifecycle hooks: initializeCommand on the host, the others in the container, and the user
environment probe that hooks and `podbay exec` run with."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from podbay.core import scripts
from podbay.core.devcontainer.config import Command
from podbay.core.devcontainer.metadata import CONFIG, HookCommand
from podbay.core.devcontainer.plan import Plan, hook_argvs
from podbay.core.docker import ByteStream, DockerEndpoint
from podbay.core.errors import HookFailed
from podbay.core.host import HostSession
from podbay.core.model import Workspace
from podbay.core.reporter import Reporter, prefixed


async def run_initialize(
    command: Command, ws: Workspace, host: HostSession, report: Reporter
) -> None:
    """initializeCommand, on the machine in the source folder, every up."""
    report.step("running initializeCommand on the host")
    for label, argv in hook_argvs(command):
        result = await host.run(argv, cwd=ws.folder)
        for line in (result.stdout + result.stderr).splitlines():
            report.log(f"[{label}] {line}" if label else line)
        if result.returncode != 0:
            raise HookFailed(
                f"initializeCommand failed with exit code {result.returncode}",
                f"fix it in {ws.config_path}, then run: podbay up {ws.name}",
            )


# Each hook command carries a random mark in its environment, which what it starts inherits: a
# cancelled hook's processes are found by it and stopped (docker exec does not stop a command
# whose output nobody reads any more).
HOOK_MARK = "PODBAY_HOOK"
# Shell builtins only (a minimal image may have no grep or tr); `read` drops the NULs between
# the variables, and newlines in values split them further, which a whole mark survives.
# Looked for twice: what a process forked while the first look ran is found by the second.
_STOP_MARKED = """
marked() {
  for dir in /proc/[0-9]*; do
    while IFS= read -r part || [ -n "$part" ]; do
      case "$part" in *"$1"*) found="$found ${dir#/proc/}"; break ;; esac
    done 2>/dev/null < "$dir/environ"
  done
}
found=""
marked "$1"
# An exec that Docker says has started may not have made its process yet: look again for a
# while ($2 times, 0.1 s apart) before taking "none" for an answer.
tries=${2:-0}
while [ -z "$found" ] && [ "$tries" -gt 0 ]; do
  sleep 0.1
  tries=$((tries - 1))
  marked "$1"
done
[ -n "$found" ] || exit 0
kill -TERM $found 2>/dev/null  # (split on purpose: one pid per word)
sleep 1
marked "$1"
kill -KILL $found 2>/dev/null
exit 0
"""


def _stop_marked(docker: DockerEndpoint, container_id: str, mark: str, user: str | None) -> None:
    """Stop every process in the container whose environment holds `mark`: as the hook's
    user (without CAP_SYS_PTRACE, which Docker does not grant, root cannot read another
    user's /proc/PID/environ), then as root (what became root, and root's own hooks)."""
    users = dict.fromkeys([user if user not in (None, "", "root", "0") else None, None])
    for turn, who in enumerate(users):
        # (the first look waits up to 2 s for a process the exec has not made yet)
        tries = "20" if turn == 0 else "0"
        argv = ["/bin/sh", "-c", _STOP_MARKED, "sh", f"{HOOK_MARK}={mark}", tries]
        output, exit_code = docker.exec_stream(container_id, argv, who, None, {})
        for _ in output:
            pass
        exit_code()


# Runs one hook command as an exec already there (argv, folder, env) -> its output and exit
# code, or None (core/ssh/setup.py: the SSH setup's exec, for root).
TakeOver = Callable[[list[str], str, dict[str, str]], "tuple[ByteStream, Callable[[], int]] | None"]


async def run_in_container(
    ws: Workspace,
    hook: str,
    commands: list[HookCommand],
    plan_folder: str,
    docker: DockerEndpoint,
    report: Reporter,
    take_over: TakeOver | None = None,
    secret_env: dict[str, str] | None = None,
) -> None:
    """One lifecycle hook in the container: each contribution in order (features first), as the
    remote user, in the workspace folder, with the user's environment and `secret_env`; the parts
    of an object form run in parallel; output is streamed."""
    for contribution in commands:
        origin = contribution.origin
        where = {CONFIG: "", "the image": " from the image"}.get(origin, f" from feature {origin}")
        report.step(f"running {hook}{where}")
        parts = hook_argvs(contribution.command)
        # (parallel parts each need an exec)
        first = take_over if len(parts) == 1 else None
        await _run_parts(ws, hook, where, parts, plan_folder, docker, report, first, secret_env)


async def run_command(
    ws: Workspace,
    what: str,
    argv: list[str],
    folder: str,
    docker: DockerEndpoint,
    report: Reporter,
) -> None:
    """One command of podbay's own in the container as a hook runs (the remote user, its
    environment, output streamed, stopped with what it started when cancelled); HookFailed
    names it as `what` when it fails."""
    await _run_parts(ws, what, "", [(None, argv)], folder, docker, report)


async def _run_parts(
    ws: Workspace,
    hook: str,
    where: str,
    parts: list[tuple[str | None, list[str]]],
    folder: str,
    docker: DockerEndpoint,
    report: Reporter,
    take_over: TakeOver | None = None,
    secret_env: dict[str, str] | None = None,
) -> None:
    report.bind_loop()
    assert ws.container_id is not None
    container_id = ws.container_id

    streams: list[Any] = []
    stopped = threading.Event()

    last_lines: list[bytes] = []  # the end of the output, to explain a failure
    mark = secrets.token_hex(12)
    env = {**ws.remote_env, **(secret_env or {}), HOOK_MARK: mark}

    # Each part's exec has started (or failed, or never will: cancelled before it began).
    launched = [threading.Event() for _ in parts]
    beginning = threading.Lock()
    began: set[int] = set()

    def run_one(index: int, label: str | None, argv: list[str]) -> int:
        with beginning:
            if stopped.is_set():  # cancelled before this part began: it never starts
                return 130
            began.add(index)
        try:
            running = take_over(argv, folder, env) if take_over else None
            output, exit_code = running or docker.exec_stream(
                container_id, argv, ws.remote_user, folder, env
            )
        finally:
            launched[index].set()
        streams.append(output)
        if stopped.is_set():  # cancelled while the command was being started
            output.close()
        pending = b""
        for chunk in output:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                report.log_threadsafe(prefixed(label, line))
            last_lines[:] = [*last_lines, *lines][-5:]
        if pending:
            report.log_threadsafe(prefixed(label, pending))
            last_lines[:] = [*last_lines, pending][-5:]
        return exit_code()

    try:
        codes = await asyncio.gather(
            *(asyncio.to_thread(run_one, i, lb, argv) for i, (lb, argv) in enumerate(parts))
        )
    except asyncio.CancelledError:
        # Cancelled (Ctrl-C, the TUI's cancel): stop reading so no thread outlives us, and stop
        # the command's processes in the container (bounded: a stuck engine does not hold us).
        with beginning:
            stopped.set()
            for index, event in enumerate(launched):
                if index not in began:  # (its thread has not run, and will start no exec)
                    event.set()
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()

        def stop() -> None:
            # Once the execs have started: a process that starts after the look is not found.
            for event in launched:
                event.wait(10)
            _stop_marked(docker, container_id, mark, ws.remote_user)

        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(stop), 25)
        report.warn(f"stopped {hook}{where}")
        raise
    failed = [(label, code) for (label, _), code in zip(parts, codes, strict=True) if code]
    if failed:
        label, code = failed[0]
        which = f"{hook}{where}" + (f" ({label})" if label else "")
        tail = b"\n".join(last_lines).decode("utf-8", "replace")
        await _raise_hook_failed(ws, which, code, tail, docker, container_id)


async def _raise_hook_failed(
    ws: Workspace, which: str, code: int, tail: str, docker: DockerEndpoint, container_id: str
) -> NoReturn:
    """Raise HookFailed for a hook part that exited with `code`, naming the likeliest cause."""
    # Docker's "unable to find user" does not always reach the output; ask the container.
    user = ws.remote_user or "root"
    missing = code == 126 and (
        "unable to find user" in tail
        or not await asyncio.to_thread(_user_exists, docker, container_id, user)
    )
    if missing:
        # The command is fine; the user it runs as is not in the image.
        raise HookFailed(
            f"{which} could not run: user {ws.remote_user} does not exist in the container",
            "set remoteUser (or containerUser) to a user of the image, then run: "
            f"podbay up {ws.name} --rebuild",
        )
    if await asyncio.to_thread(docker.inspect_container, container_id) is None:
        raise HookFailed(
            f"{which} was stopped: the container was removed while it ran",
            f"podbay up {ws.name} makes the container again",
        )
    raise HookFailed(
        f"{which} failed with exit code {code}",
        f"the workspace is kept; fix the command, then run: podbay up {ws.name}",
    )


_PROBE_FLAGS = {"loginInteractiveShell": "-lic", "loginShell": "-lc", "interactiveShell": "-ic"}

# Variables that describe the probe's own shell, not the user's environment.
_VOLATILE = {"PWD", "OLDPWD", "SHLVL", "_", "HOSTNAME"}

# Once per container: keep an inherited PATH in /etc/profile (assets/patch-profile.sh).
_PATCH_PROFILE = scripts.command("patch-profile.sh")


@dataclass(frozen=True)
class ProbeCommand:
    """The user-env probe as one `/bin/sh -c` script: the user's shell with the probe's flags
    runs `arg` (its $0), which prints /proc/self/environ between two copies of `marker`, so
    whatever rc files print does not matter."""

    script: str
    arg: str
    marker: str


def probe_command(plan: Plan) -> ProbeCommand | None:
    """The probe for the plan's userEnvProbe; None for none."""
    flags = _PROBE_FLAGS.get(plan.user_env_probe)
    if flags is None:
        return None
    marker = secrets.token_hex(8)
    inner = f"printf '%s' {marker}; cat /proc/self/environ; printf '%s' {marker}"
    script = (
        's="$SHELL"; [ -x "$s" ] || '
        's=$(sed -n "s/^$(id -un):[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:\\(.*\\)$/\\1/p" /etc/passwd); '
        '[ -x "$s" ] || s=/bin/sh; '
        f'exec "$s" {flags} "$0"'
    )
    return ProbeCommand(script, inner, marker)


def probed_env(output: bytes, marker: str) -> dict[str, str]:
    """The environment a probe printed ({} when it did not finish)."""
    parts = output.split(marker.encode())
    if len(parts) < 3:
        return {}
    env: dict[str, str] = {}
    for item in parts[1].split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and key and key not in _VOLATILE:
            env[key] = value
    return env


async def probe_user_env(
    docker: DockerEndpoint,
    container_id: str,
    plan: Plan,
    report: Reporter,
    patch_profile: bool = True,
) -> dict[str, str]:
    """The remote user's environment as their shell sets it up (userEnvProbe); {} for none.
    Gives up after 10 seconds with a warning."""
    probe = probe_command(plan)
    if probe is None:
        return {}
    as_root = plan.remote_user in ("root", "0")
    if patch_profile and not as_root:  # once per container; as root, in the probe's own exec
        patch = ["/bin/sh", "-c", _PATCH_PROFILE]
        await asyncio.to_thread(_exec_output, docker, container_id, patch, "root")
    script = f"{_PATCH_PROFILE}; {probe.script}" if patch_profile and as_root else probe.script
    argv = ["/bin/sh", "-c", script, probe.arg]
    # A daemon thread: if the exec never ends, it must not hold podbay open at exit either.
    output = _in_daemon_thread(_exec_output, docker, container_id, argv, plan.remote_user)
    return await probe_result(output, probe, docker, container_id, plan, report)


async def probe_result(
    output: asyncio.Future[bytes],
    probe: ProbeCommand,
    docker: DockerEndpoint,
    container_id: str,
    plan: Plan,
    report: Reporter,
) -> dict[str, str]:
    """The environment from a running probe's `output`, given 10 seconds."""
    try:
        data = await asyncio.wait_for(asyncio.shield(output), PROBE_SECONDS)
    except TimeoutError:
        # Killed, not abandoned: an rc file that waits (a prompt, `sleep`) must not keep a
        # shell and its children running in the container.
        kill = ["/bin/sh", "-c", _KILL_PROBE]
        env = {"M": probe.marker}
        await asyncio.to_thread(_exec_output, docker, container_id, kill, "root", env)
        report.warn(
            f"userEnvProbe ({plan.user_env_probe}) took over {PROBE_SECONDS} s and was "
            "stopped; check the shell's rc files, or set userEnvProbe to none"
        )
        return {}
    return probed_env(data, probe.marker)


PROBE_SECONDS = 10

# Kills the probe's process tree at its timeout (assets/kill-probe.sh).
_KILL_PROBE = scripts.command("kill-probe.sh")


def _in_daemon_thread(fn: Any, *args: Any) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=work, daemon=True, name="podbay-probe").start()
    return future


def _user_exists(docker: DockerEndpoint, container_id: str, user: str) -> bool:
    """Whether `user` (a checked name, or a numeric id that needs no entry) is in the
    container's /etc/passwd; True when that cannot be told."""
    name = user.split(":", 1)[0]
    if name.isdigit():
        return True
    script = ["awk", "-F:", "-v", f"u={name}", "$1 == u { found = 1 } END { exit !found }"]
    try:
        output, exit_code = docker.exec_stream(
            container_id, [*script, "/etc/passwd"], "0", None, {}
        )
        b"".join(output)
        return exit_code() != 1
    except Exception:
        return True


def _exec_output(
    docker: DockerEndpoint,
    container_id: str,
    argv: list[str],
    user: str,
    env: dict[str, str] | None = None,
) -> bytes:
    output, exit_code = docker.exec_stream(container_id, argv, user, None, env or {})
    data = b"".join(output)
    exit_code()
    return data
