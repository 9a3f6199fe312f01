"""OpenSSH's sshd inside the container, run per connection in inetd mode (`sshd -i`).

Nothing listens on a port: every connection execs sshd over the machine's exec channel
(`docker exec -i`). `up` makes sure sshd is there (installing openssh-server with the image's
package manager when missing), and places podbay's host key, the workspace's client public key
and an sshd_config under /etc/podbay/ssh, leaving the image's own sshd setup alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from podbay.core import scripts
from podbay.core.devcontainer.values import has_control
from podbay.core.docker import DockerEndpoint
from podbay.core.ssh.keys import WorkspaceKeys
from podbay.core.ssh.sshd import BUNDLE, CONFIG, DIR

# One exec does the whole setup (assets/ssh-setup.sh), after the keys and configs were copied in.
_SETUP = scripts.command("ssh-setup.sh", CONFIG=CONFIG, DIR=DIR, BUNDLE=BUNDLE)


@dataclass
class SshResult:
    ready: bool
    note: str  # why not, or what was done ("installed openssh-server with apt")
    bash: bool = True  # the image has bash (else `up` suggests sh)


def sshd_config(container_env: Mapping[str, str], with_setenv: bool = True) -> str:
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
        "X11Forwarding no",
        # A multiplexed `ssh NAME.podbay` (ControlMaster) carries every session on one
        # connection: VS Code, git and scp side by side need more than the default 10.
        "MaxSessions 64",
        "Subsystem sftp internal-sftp",
    ]
    if with_setenv:
        # Sessions of sshd do not inherit the container's environment; give it to them.
        pairs = [
            f'"{key}={value}"'
            for key, value in sorted(container_env.items())
            if key not in ("HOME", "HOSTNAME", "USER", "SHELL", "TERM")
            and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
            and '"' not in value
            and "\\" not in value
            and not has_control(value)
        ]
        if pairs:
            lines.append("SetEnv " + " ".join(pairs))
    return "\n".join(lines) + "\n"


def ensure_sshd(
    docker: DockerEndpoint,
    container: str,
    keys: WorkspaceKeys,
    user: str,
    container_env: Mapping[str, str],
    log: Callable[[str], None],
    workdir: str = "",
) -> SshResult:
    """Make the container ready for `sshd -i` connections, sessions starting in `workdir`.
    Blocking: call in a thread."""
    env = {
        "PODBAY_SSH_WORKDIR": workdir,
        "PODBAY_SSH_HOST_KEY": keys.host_key.read_text(),
        "PODBAY_SSH_AUTHORIZED_KEYS": keys.client_public() + "\n",
        "PODBAY_SSH_CONFIG": sshd_config(container_env),
        "PODBAY_SSH_CONFIG_MIN": sshd_config(container_env, with_setenv=False),
    }
    # One exec, no archive copy: dockerd's archive extraction alone costs about 40 ms.
    output, exit_code = docker.exec_stream(
        container, ["/bin/sh", "-c", _SETUP, "sh", user], "root", None, env
    )
    lines: list[str] = []
    pending = b""
    for chunk in output:
        pending += chunk
        *done, pending = pending.split(b"\n")
        for line in done:
            text = line.decode(errors="replace")
            lines.append(text)
            if text not in ("@installed", "@no-bash"):
                log(text)
    if pending:
        lines.append(pending.decode(errors="replace"))
        log(lines[-1])
    code = exit_code()
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
