"""The ssh ProxyCommand of `ssh NAME.podbay`: run once per connection (once per master, with
ControlMaster), so every millisecond here is added to a first connection.

It runs as `python -S -E` (core.ssh.config.proxy_command) and imports only os, sys, sqlite3
and two small podbay modules: the record's few fields are read with SQLite's own
json_extract, not Python's json (whose import pulls in `re`). Anything but a plain local
workspace with SSH ready goes through core.attach, which reads the whole record and says
what is missing.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable

from podbay.core import used
from podbay.core.docker_cli import docker_cli
from podbay.core.errors import DockerError, PodbayError
from podbay.core.ssh.sshd import SESSION_ENV, SESSION_ENV_MAX, SSHD_SCRIPT

if False:  # typing's import would cost this per-connection path; read by mypy only
    from typing import NoReturn


def _open(home: str) -> sqlite3.Connection | None:
    quoted = home.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    try:
        return sqlite3.connect(f"file:{quoted}/podbay.db?mode=ro", uri=True)
    except sqlite3.Error:
        return None


def _has_session_env(home: str, name: str) -> bool:
    """Whether a session of `name` may be given anything: a secret is set for it or for every
    workspace (core/secrets_store's index), or it has hosts whose git credentials are lent
    (core/git_credentials). One query, so other connections cost nothing more."""
    db = _open(home)
    if db is None:
        return False
    try:
        row = db.execute(
            "SELECT EXISTS(SELECT 1 FROM meta, json_each(meta.value) WHERE meta.key='secrets' "
            "AND json_extract(json_each.value, '$.workspace') IN ('', ?)), "
            "(SELECT json_array_length(data, '$.git_hosts') FROM workspaces WHERE name=?), "
            "(SELECT json_array_length(value) FROM meta WHERE key=?)",
            (name, name, f"git-hosts:{name}"),
        ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return any(row)


def _fast_argv(home: str, name: str) -> list[str] | None:
    """`docker exec -i ... sshd -i` for a ready workspace on a shared engine, from two small
    queries; None for anything else (core.attach then explains)."""
    db = _open(home)
    if db is None:
        return None
    try:
        row = db.execute(
            "SELECT json_extract(data, '$.container_id'), json_extract(data, '$.phase'), "
            "json_extract(data, '$.usable'), json_extract(data, '$.ssh_ready'), "
            "json_extract(data, '$.provider'), json_type(data, '$.machine.ssh'), "
            "json_type(data, '$.machine.extra'), json_extract(data, '$.machine.host') "
            "FROM workspaces WHERE name=?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        container, phase, usable, ssh_ready, provider, ssh, extra, flat_host = row
        if not container or not ssh_ready or (phase == "creating" and not usable):
            return None
        # A machine of its own (core.attach.machine_ssh's rule, a flat record being one from
        # before 0.2): the relay's way (core.ssh.relay).
        if ssh == "object" or (ssh is None and extra is None and flat_host):
            return None
        found = db.execute(
            "SELECT json_extract(data, '$.options.host') FROM providers WHERE name=?",
            (provider,),
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    host = found[0] if found else None
    try:
        docker = docker_cli()
    except DockerError:
        return None  # said by core.attach
    # No host option: the docker CLI's own DOCKER_HOST or context, as core.attach resolves it.
    return [
        docker,
        *(["-H", str(host)] if host else []),
        "exec",
        "-i",
        "-u",
        "0",
        str(container),
        "/bin/sh",
        "-c",
        SSHD_SCRIPT,
    ]


def _stderr_is_null() -> bool:
    """True under ControlPersist: OpenSSH gives the ProxyCommand /dev/null as stderr."""
    try:
        return os.path.samestat(os.fstat(2), os.stat(os.devnull))
    except OSError:
        return False


def say_over_ssh(text: str) -> None:
    """Tell OpenSSH's client why it cannot connect as an SSH server would: a version line, then
    a DISCONNECT packet, which ssh prints ("Received disconnect from ...: <text>") whatever
    became of the ProxyCommand's stderr. Waits (10 s at most) for the client to hang up, so
    that its own first write does not meet a closed pipe first."""
    import select
    import time

    about = " ".join(text.split()).encode("utf-8")[:400]
    # SSH_MSG_DISCONNECT, reason 11 (by application), description, empty language tag.
    payload = b"\x01" + (11).to_bytes(4, "big") + len(about).to_bytes(4, "big") + about + bytes(4)
    pad = 8 - (5 + len(payload)) % 8
    pad += 8 if pad < 4 else 0
    packet = (1 + len(payload) + pad).to_bytes(4, "big") + bytes([pad]) + payload + bytes(pad)
    try:
        os.write(1, b"SSH-2.0-podbay\r\n" + packet)
        deadline = time.monotonic() + 10
        while (left := deadline - time.monotonic()) > 0:
            if select.select([0], [], [], left)[0] and not os.read(0, 65536):
                return
    except OSError:
        pass


def _refusal(name: str, errors: str) -> str | None:
    """What to tell of the exec channel's errors when it ended in failure: podbay's own lines
    (the AWS relay's) as they are, the engine's refusals in podbay's words, else nothing (a
    session that ran and ended is not an error to show)."""
    own = [line for line in errors.splitlines() if line.startswith(("podbay: ", "hint: "))]
    if own:
        return " ".join(own)
    if "is not running" in errors:
        return f"podbay: error: workspace {name} is stopped; hint: start it: podbay start {name}"
    if "No such container" in errors:
        return f"podbay: error: workspace {name} has no container; hint: run: podbay up {name}"
    return None


def _run_watched(name: str, argv: list[str]) -> None:
    """Run the exec channel as a child whose errors are read here: OpenSSH gave this
    ProxyCommand /dev/null as stderr (ControlPersist), so a refusal is said over SSH instead.
    Its stdin and stdout are this process's: the SSH bytes do not pass through Python."""
    read, write = os.pipe()
    pid = os.fork()  # not subprocess: its import would cost this path milliseconds
    if pid == 0:
        try:
            os.dup2(write, 2)
            os.close(read)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(write)
    import signal

    # ssh ends its ProxyCommand with SIGHUP: passed on, as if the child were the ProxyCommand.
    def forward(received: int, _frame: object) -> None:
        try:  # noqa: SIM105 (contextlib costs this per-connection path an import)
            os.kill(pid, received)
        except OSError:
            pass  # it has ended already

    for number in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(number, forward)
    tail = b""
    while True:
        try:
            chunk = os.read(read, 65536)
        except InterruptedError:
            continue
        if not chunk:
            break
        tail = (tail + chunk)[-8192:]
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    code = 128 - code if code < 0 else code  # killed by a signal: 128+N, as a shell says
    if code != 0 and (told := _refusal(name, tail.decode("utf-8", "replace"))):
        say_over_ssh(told)
    raise SystemExit(code)


def _refuse(exc: PodbayError) -> NoReturn:
    if _stderr_is_null():
        say_over_ssh(f"podbay: error: {exc.message}; hint: {exc.hint}")
    print(f"podbay: error: {exc.message}\nhint: {exc.hint}", file=sys.stderr)
    raise SystemExit(1) from None


def with_session_env(argv: list[str], words: str) -> list[str]:
    """The exec channel's argv (`... <container> /bin/sh -c SSHD_SCRIPT`) given the
    connection's session environment `words` (sshd_config SetEnv words; core/ssh/sshd.py):
    by name, the value going in this process's environment, which the docker CLI (or the
    relay, to the machine's) passes on."""
    if not words:
        return argv
    if len(words) > SESSION_ENV_MAX:
        raise PodbayError(
            f"the secrets of this workspace are {len(words) // 1024} KiB, more than an ssh "
            f"connection's environment carries ({SESSION_ENV_MAX // 1024} KiB)",
            "podbay ssh and podbay exec carry them; or keep large values in files",
        )
    os.environ[SESSION_ENV] = words
    at = len(argv) - 4  # before the container, as `docker exec -e` goes
    return [*argv[:at], "-e", SESSION_ENV, *argv[at:]]


def main(session_env: Callable[[str], str] | None = None) -> None:
    """The ProxyCommand's entry (`... -c "...; p.main()" NAME`), without the CLI's start-up.
    `session_env` gives a workspace's sessions their environment (the user's secrets and lent
    git credentials, as SetEnv words), asked only when there may be any."""
    name = sys.argv[1]
    given = os.environ.get("PODBAY_HOME")  # the ssh_config's line always sets it
    home = os.path.abspath(os.path.expanduser(given)) if given else ""
    argv = _fast_argv(home, name) if home else None
    if argv is None:
        from podbay.core import attach

        try:
            argv = attach.stdio_argv(name)
        except PodbayError as exc:
            _refuse(exc)
        home = attach._home()
    if session_env is not None and _has_session_env(home, name):
        try:
            argv = with_session_env(argv, session_env(name))
        except PodbayError as exc:
            _refuse(exc)
    used.mark(home, name)
    # OpenSSH binds the master connection's socket there after this connects (see
    # core.ssh.config.control_path); without the folder, ssh would exit.
    try:  # noqa: SIM105 (contextlib would cost this per-connection path 2 ms)
        os.mkdir(os.path.join(home, "cm"), 0o700)
    except OSError:
        pass
    if _stderr_is_null():
        _run_watched(name, argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
