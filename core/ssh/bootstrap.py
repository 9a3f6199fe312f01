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

from core.docker import DockerEndpoint
from core.ssh.keys import WorkspaceKeys
from core.ssh.sshd import CONFIG, DIR

# One exec does the whole setup, after the keys and configs were copied in: find sshd (or install
# openssh-server with the image's package manager, without letting the package start a daemon),
# check the configuration (falling back to one without SetEnv for old OpenSSH), and make sure
# the login user's account is not locked. sshd refuses keys for accounts whose password field is
# "!" when PAM is off, which is how `useradd` leaves accounts without a password; "*" means no
# password but not locked.
_SETUP = r"""
user="$1"
# The files come in this exec's environment (readable by root only), written before anything else.
umask 022
mkdir -p @DIR@
(umask 077 && printf '%s' "$PODBAY_SSH_HOST_KEY" > @DIR@/host_key)
chmod 600 @DIR@/host_key
printf '%s' "$PODBAY_SSH_AUTHORIZED_KEYS" > @DIR@/authorized_keys
# The config carries the remote environment (SetEnv), which may hold tokens: root's only.
(umask 077 && printf '%s' "$PODBAY_SSH_CONFIG" > @CONFIG@)
(umask 077 && printf '%s' "$PODBAY_SSH_CONFIG_MIN" > @CONFIG@.min)
chmod 600 @CONFIG@ @CONFIG@.min
find_sshd() { command -v sshd || { test -x /usr/sbin/sshd && echo /usr/sbin/sshd; }; }
sshd=$(find_sshd)
if [ -z "$sshd" ]; then
  echo "sshd is not in the image; installing openssh-server"
  (
    set -e
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ] && [ -d /usr/sbin ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    trap '[ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
    if command -v apt-get >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get -o DPkg::Lock::Timeout=300 update -qq
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        openssh-server >/dev/null
    elif command -v apk >/dev/null 2>&1; then
      apk add --no-cache -q openssh-server
    elif command -v dnf >/dev/null 2>&1; then
      dnf install -y -q openssh-server
    elif command -v microdnf >/dev/null 2>&1; then
      microdnf install -y openssh-server
    elif command -v yum >/dev/null 2>&1; then
      yum install -y -q openssh-server
    elif command -v zypper >/dev/null 2>&1; then
      zypper -n -q install openssh
    else
      echo "no package manager (apt, apk, dnf, microdnf, yum, zypper) to install openssh-server"
      exit 42
    fi
  ) || exit $?
  sshd=$(find_sshd)
  [ -n "$sshd" ] || { echo "openssh-server installed no sshd"; exit 42; }
  echo "@installed"
fi
mkdir -p /run/sshd
if ! "$sshd" -t -f @CONFIG@ >/dev/null 2>&1; then
  cp @CONFIG@.min @CONFIG@
  "$sshd" -t -f @CONFIG@ 2>&1 || exit 43
fi
if [ -w /etc/shadow ]; then
  field=$(awk -F: -v u="$user" '$1 == u { print $2 }' /etc/shadow)
  case "$field" in
    '!'|'!!'|'!*') sed -i "s/^$user:[^:]*:/$user:*:/" /etc/shadow ;;
  esac
fi
""".replace("@CONFIG@", CONFIG).replace("@DIR@", DIR)


@dataclass
class SshResult:
    ready: bool
    note: str  # why not, or what was done ("installed openssh-server with apt")


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
            and not any(ord(c) < 32 or ord(c) == 127 for c in value)
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
) -> SshResult:
    """Make the container ready for `sshd -i` connections. Blocking: call in a thread."""
    env = {
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
            if text != "@installed":
                log(text)
    if pending:
        lines.append(pending.decode(errors="replace"))
        log(lines[-1])
    code = exit_code()
    if code == 0:
        return SshResult(True, "installed openssh-server" if "@installed" in lines else "")
    last = lines[-1] if lines else f"exit code {code}"
    if code == 43:
        return SshResult(False, f"sshd rejects its configuration: {last}")
    return SshResult(False, f"could not install openssh-server: {last}")
