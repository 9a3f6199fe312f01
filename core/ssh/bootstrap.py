"""OpenSSH's sshd inside the container, run per connection in inetd mode (`sshd -i`).

Nothing listens on a port: every connection execs sshd over the machine's exec channel
(`docker exec -i`). `up` makes sure sshd is there (installing openssh-server with the image's
package manager when missing), and places podbay's host key, the workspace's client public key
and an sshd_config under /etc/podbay/ssh, leaving the image's own sshd setup alone.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shlex
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podbay.core import scripts
from podbay.core.docker import ByteStream, DockerEndpoint
from podbay.core.docker_api import ExecOutput
from podbay.core.ssh.keys import WorkspaceKeys
from podbay.core.ssh.sshd import BUNDLE, CONFIG, DIR, setenv_words

if TYPE_CHECKING:
    from podbay.core.hooks import ProbeCommand

# One exec does the whole setup (assets/ssh-setup.sh), /etc/profile's patch included.
_SETUP = scripts.command(
    "ssh-setup.sh",
    CONFIG=CONFIG,
    DIR=DIR,
    BUNDLE=BUNDLE,
    PATCH_PROFILE=scripts.command("patch-profile.sh"),
)


@dataclass
class SshResult:
    ready: bool
    note: str  # why not, or what was done ("installed openssh-server with apt")
    bash: bool = True  # the image has bash (else `up` suggests sh)


SECRET_PREFIX = "PODBAY_SECRET"  # PODBAY_SECRET_<NAME>, and PODBAY_SECRETS=1 (sent at all)


def secrets_for_session(values: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """(the environment requests, the shell words before the session's command) that give a
    session `values` as NAME=value: sent as PODBAY_SECRET_NAME, renamed in the session; a
    container whose sshd does not take them (made before) says so."""
    if not values:
        return {}, ""
    env = {f"{SECRET_PREFIX}S": "1", **{f"{SECRET_PREFIX}_{k}": v for k, v in values.items()}}
    words = [
        f'[ -n "${{{SECRET_PREFIX}S:-}}" ] || echo "podbay: this container takes no secrets'
        ' yet; podbay up --rebuild gives them" >&2;'
    ]
    for name in values:  # (an sshd that dropped it: the name keeps what it had)
        sent = f"{SECRET_PREFIX}_{name}"
        words.append(f'[ -z "${{{sent}+x}}" ] || export {name}="${sent}";')
    words.append(
        "unset " + " ".join([f"{SECRET_PREFIX}S", *(f"{SECRET_PREFIX}_{n}" for n in values)]) + ";"
    )
    return env, " ".join(words) + " "


def sshd_config() -> str:
    """podbay's sshd_config, without the sessions' environment (see setenv_line)."""
    lines = [
        f"HostKey {DIR}/host_key",
        f"AuthorizedKeysFile {DIR}/authorized_keys",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "UsePAM no",
        "StrictModes yes",
        "PrintMotd no",
        "PrintLastLog no",
        "LogLevel ERROR",
        "AllowTcpForwarding yes",
        "AllowAgentForwarding yes",
        # A session's secrets come as environment requests (core/secrets_store.py), renamed
        # by the command podbay sends: never in a file or a process's arguments.
        f"AcceptEnv {SECRET_PREFIX}*",
        "X11Forwarding no",
        # A multiplexed `ssh NAME.podbay` (ControlMaster) carries every session on one
        # connection: VS Code, git and scp side by side need more than the default 10.
        "MaxSessions 64",
        "Subsystem sftp internal-sftp",
    ]
    return "\n".join(lines) + "\n"


def setenv_line(env: Mapping[str, str]) -> str:
    """sshd_config's SetEnv line for sessions with `env` ("" for none)."""
    words = setenv_words(env)[0]
    return "SetEnv " + words if words else ""


class SshdSetup:
    """podbay's SSH setup in a container: one exec as root (assets/ssh-setup.sh).

    With `env` given, the sessions' environment goes in with it. Without, it comes later
    (give_env) on the exec's input, once the user's environment is probed: meanwhile the same
    exec keeps /etc/profile's PATH (`patch`, reported through `on_patched`) and runs the probe
    for root (`probe`, its raw output to `on_probed`), so no exec of its own is needed for
    either. Blocking (run in a thread); the callbacks are called from that thread.
    """

    def __init__(
        self,
        docker: DockerEndpoint,
        container: str,
        user: str,
        workdir: str,
        log: Callable[[str], None],
        env: Mapping[str, str] | None = None,
        patch: bool = False,
        probe: ProbeCommand | None = None,
        on_patched: Callable[[], None] = lambda: None,
        on_probe: Callable[[], None] = lambda: None,
        on_probed: Callable[[bytes], None] = lambda output: None,
        hook_later: bool = False,
    ) -> None:
        assert env is not None or docker.feeds_input, "a later environment needs exec input"
        assert not hook_later or env is None, "the first hook comes on the exec's input"
        self.docker, self.container, self.user = docker, container, user
        self.workdir, self.log, self.env, self.patch, self.probe = workdir, log, env, patch, probe
        self.on_patched, self.on_probe, self.on_probed = on_patched, on_probe, on_probed
        self._lock = threading.Lock()
        self._output: ExecOutput | None = None
        self._line: str | None = None  # the SetEnv line given, until sent
        self._sent = False
        # The first hook (take_over): whether the exec waits for it, whether it can run it,
        # what it did with it (None: not yet, else "taken" or "released").
        self.hook_later = hook_later
        self._ready = threading.Event()
        self._hookable: bool | None = None  # None: not known yet
        self._hook: str | None = None
        self._rest = b""  # output read past "@ready"
        self._token = secrets.token_hex(8)  # in the script's "@ready" line, which nothing forges
        self._exit_code: Callable[[], int] = lambda: 0

    def give_env(self, env: Mapping[str, str]) -> None:
        """The sessions' environment, once known (without `env` at the start); ends the input."""
        with self._lock:
            self._line = setenv_line(env)
            self._send()

    def abort(self) -> None:
        """Stop waiting for the setup (its input ended, its output no longer read): `up` failed
        or was cancelled; the next `up` sets SSH up again."""
        with self._lock:
            self._sent, self._hook = True, self._hook or "released"
            if self._output is not None:
                self._output.end_input()
                self._output.close()
        self._ready.set()

    def take_over(self, job: str) -> tuple[ByteStream, Callable[[], int]] | None:
        """The setup's exec becomes the first hook, when it waits for one (hook_later) and can
        run it (the folder is there; sshd was not being installed): `job` is one line of shell
        code that ends in `exec` (see hook_job). Its output and exit code, as exec_stream gives
        them; None when it cannot. Waits for the setup to be done."""
        self._ready.wait()
        with self._lock:
            if self._hookable is not True or self._hook is not None or self._output is None:
                return None
            self._hook = "taken"
            output = self._output
            with contextlib.suppress(OSError):
                output.send(job.encode() + b"\n")
            output.end_input()
        hook = _HookOutput(output, self._rest)
        exit_code = self._exit_code

        def hook_exit_code() -> int:
            # The exec's, once the hook ran in it; else (it never got its line) a failure.
            return exit_code() if hook.started else 125

        return hook, hook_exit_code

    def release(self) -> None:
        """No hook for the setup's exec: it ends (blocks until it has)."""
        with self._lock:
            if not self.hook_later or self._hook is not None or self._output is None:
                self._hook = self._hook or "released"
                return
            self._hook = "released"
            output = self._output
            with contextlib.suppress(OSError):
                output.send(b"\n")
            output.end_input()
        for _ in output:  # to its end: the exec is over, its connection closed
            pass

    def _send(self) -> None:
        if self._output is None or self._line is None or self._sent:
            return
        self._sent = True
        with contextlib.suppress(OSError):  # the setup ended early (it says why)
            self._output.send(self._line.encode() + b"\n")
        if not self.hook_later:
            self._output.end_input()

    def run(self, keys: WorkspaceKeys) -> SshResult:
        """Make the container ready for `sshd -i` connections, sessions starting in the
        workspace folder; blocks until done (after give_env, when the environment comes later)."""
        try:
            return self._run(keys)
        finally:
            self._ready.set()  # whatever happened: no hook waits on a setup that ended

    def _run(self, keys: WorkspaceKeys) -> SshResult:
        env = {
            "PODBAY_SSH_WORKDIR": self.workdir,
            "PODBAY_SSH_HOST_KEY": keys.host_key.read_text(),
            "PODBAY_SSH_AUTHORIZED_KEYS": keys.client_public() + "\n",
            "PODBAY_SSH_CONFIG_MIN": sshd_config(),
        }
        if self.patch:
            env["PODBAY_PATCH_PROFILE"] = "1"
        if self.hook_later:
            env["PODBAY_HOOK_LATER"] = self._token
        if self.probe is not None:
            env |= {
                "PODBAY_PROBE": self.probe.script,
                "PODBAY_PROBE_ARG": self.probe.arg,
                "PODBAY_PROBE_MARKER": self.probe.marker,
            }
        argv = ["/bin/sh", "-c", _SETUP, "sh", self.user]
        # One exec, no archive copy: dockerd's archive extraction alone costs about 40 ms.
        if self.env is not None:
            env["PODBAY_SSH_SETENV"] = setenv_line(self.env)
            output, exit_code = self.docker.exec_stream(self.container, argv, "root", None, env)
        else:
            env["PODBAY_SSH_SETENV_LATER"] = "1"
            output, exit_code = self.docker.exec_with_input(self.container, argv, "root", env)
            with self._lock:
                self._output = output
                self._send()
        self._exit_code = exit_code
        try:
            lines, ready = self._read(output)
        finally:
            self.on_patched()  # whatever happened: nobody waits on a setup that ended
            self.on_probe()
            self.on_probed(b"")
        # Done, its exec waiting for the first hook; else it ended with its exit code.
        return _result(0 if ready else exit_code(), lines)

    def _read(self, output: Iterable[bytes]) -> tuple[list[str], bool]:
        """The setup's lines (the probe's output, between its markers, goes to on_probed and
        is never logged: it holds the user's environment), and whether it got to "@ready"
        (hook_later: the output after it is the hook's)."""
        lines: list[str] = []
        pending = b""
        probe_end = None
        for chunk in output:
            pending += chunk
            while True:
                if probe_end is not None:
                    at = pending.find(probe_end)
                    if at < 0:
                        break
                    self.on_probed(pending[:at])
                    pending, probe_end = pending[at + len(probe_end) :], None
                    continue
                line, sep, rest = pending.partition(b"\n")
                if not sep:
                    break
                pending = rest
                text = line.decode(errors="replace")
                if self.hook_later and text in (
                    f"@ready {self._token}",
                    f"@ready {self._token} hook",
                ):
                    with self._lock:
                        self._hookable = text.endswith(" hook") and self._hookable is not False
                    self._rest = pending
                    return lines, True
                if text == "@installing":
                    # Installing sshd takes long: the first hook does not wait for it.
                    with self._lock:
                        self._hookable = False
                    self._ready.set()
                    continue
                if text == "@patched":
                    self.on_patched()
                elif text == "@probe" and self.probe is not None:
                    probe_end = f"\n{self.probe.marker}-end\n".encode()
                    self.on_probe()
                else:
                    lines.append(text)
                    if text not in ("@installed", "@no-bash"):
                        self.log(text)
        if probe_end is not None:
            self.on_probed(pending)  # cut short: what came of it
        elif pending:
            lines.append(pending.decode(errors="replace"))
            self.log(lines[-1])
        return lines, False


# bash's read-only names: a shell cannot export them.
_READ_ONLY = {"UID", "EUID", "PPID", "SHELLOPTS", "BASHOPTS", "BASH_VERSINFO", "GROUPS"}


def hook_job(argv: list[str], folder: str, env: Mapping[str, str]) -> str | None:
    """Shell code running `argv` as a root exec would, in `folder` with the environment an
    exec gets: `env` (the container's own, then the exec's) exported again over what the
    setup's shell may have changed, nothing of its own. Exported, not given as arguments:
    values never show in a process list. One line for SshdSetup.take_over (printf's %b escapes
    for backslash and newline); None when something cannot go that way."""
    names = set(env)
    if not argv or any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) for k in names):
        return None
    if names & _READ_ONLY:
        return None
    code = f"cd -- {shlex.quote(folder)} && unset OLDPWD PWD SHLVL"
    if env:
        code += " && export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    code += " && exec " + " ".join(shlex.quote(arg) for arg in argv)
    # \0 and three octal digits each: a digit after it is never taken as a fourth.
    line = code.replace("\\", "\\0134").replace("\n", "\\0012")
    try:
        line.encode()
    except UnicodeEncodeError:
        return None  # (a lone surrogate: an exec of its own says what it makes of it)
    return line


class _HookOutput:
    """The setup exec's output from the hook's start (after the script's "@hook" line), as
    exec_stream's output is: chunks, and close() from another thread."""

    def __init__(self, output: ExecOutput, rest: bytes) -> None:
        self._output, self._rest, self._read_head = output, rest, False
        self.started = False  # the script said "@hook": the rest is the hook's

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if not self._read_head:
            self._read_head = True
            # The script writes "@hook" on stdout, then the hook starts; what the hook writes on
            # stderr may still come first (the engine reads the two pipes apart), even inside a
            # line. So the marker is taken out wherever it is, the rest kept in order; a stream
            # that ends without it is shown as it is (the hook never started).
            pending = self._rest
            while b"@hook\n" not in pending:
                chunk = next(self._output, b"")
                if not chunk:
                    break
                pending += chunk
            before, marker, after = pending.partition(b"@hook\n")
            self.started = bool(marker)
            rest = before + after if self.started else pending
            if rest:
                return rest
        return next(self._output)

    def close(self) -> None:
        self._output.close()


def _result(code: int, lines: list[str]) -> SshResult:
    bash = "@no-bash" not in lines
    if code == 0:
        note = "installed openssh-server" if "@installed" in lines else ""
        return SshResult(True, note, bash)
    last = next((x for x in reversed(lines) if not x.startswith("@")), f"exit code {code}")
    if code == 44:
        return SshResult(False, last, bash)
    if code == 43:
        return SshResult(False, f"sshd rejects its configuration: {last}")
    return SshResult(False, f"could not install openssh-server: {last}")
