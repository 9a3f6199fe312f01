"""How each SSH connection starts the container's sshd (import-free: used per connection)."""

from __future__ import annotations

from collections.abc import Mapping

DIR = "/etc/podbay/ssh"
CONFIG = f"{DIR}/sshd_config"
BUNDLE = "/.podbay/sshd"  # podbay's portable sshd, when mounted (core/ssh/bundle.py)
# The name of a connection's own session environment (sshd_config SetEnv words, e.g. the
# user's secrets): given to the exec channel by name (`docker exec -e`, the value in the docker
# CLI's environment), never in a file or a process's arguments.
SESSION_ENV = "PODBAY_SSHD_ENV"

# What the exec channel runs for each connection: the image's own sshd, else podbay's through
# its loader. sshd must be started by absolute path. With a session environment, sshd reads
# its config from a pipe instead of the file: one SetEnv line (the connection's words, the
# file's, then the connection's again: of a name given twice, sshd 9.1 and later keep the first,
# earlier ones the last) and the file's other lines. sshd closes every descriptor above 2 before it
# reads its config, so it opens the pipe through /proc from the shell that holds it (its pid
# read from /proc/self/stat, without a fork). Shell builtins only: an image may have no other
# program.
_EACH_LINE = (
    'while IFS= read -r l || [ -n "$l" ]; do '
    "case $l in 'SetEnv '*) {0};; *) {1};; esac; done < {2}"
)
SSHD_SCRIPT = (
    "mkdir -p /run/sshd 2>/dev/null; "
    "s=$(command -v sshd || { [ -x /usr/sbin/sshd ] && echo /usr/sbin/sshd; }); "
    'd() { [ -n "$s" ] && exec "$s" -i -e -f "$1"; '
    f'exec {BUNDLE}/ld.so --library-path {BUNDLE}/lib {BUNDLE}/sshd -i -e -f "$1"; }}; '
    f'[ -n "${{{SESSION_ENV}:-}}" ] || d {CONFIG}; '
    "exec 3<&0; "
    f"{{ printf 'SetEnv %s' \"${SESSION_ENV}\"; "
    + _EACH_LINE.format("printf ' %s' \"${l#SetEnv }\"", ":", CONFIG)
    + f"; printf ' %s\\n' \"${SESSION_ENV}\"; "
    + _EACH_LINE.format(":", "printf '%s\\n' \"$l\"", CONFIG)
    + f"; }} | {{ read -r p _ < /proc/self/stat; exec 4<&0 0<&3 3<&-; unset {SESSION_ENV}; "
    # (a child, not an exec: the shell keeps the pipe open; `exit` keeps it from becoming one)
    + '(d "/proc/$p/fd/4"); exit $?; }'
)


def setenv_words(env: Mapping[str, str], comments: bool = True) -> tuple[str, list[str]]:
    """(sshd_config SetEnv words for `env`, the names left out): sessions of sshd do not inherit
    the container's environment. A value an sshd_config line cannot hold (a quote, a backslash,
    a control character) is left out; with `comments` False, one with a `#` too (sshd before
    8.7 cuts a line at its first `#`, quoted or not, and drops every word after it)."""
    words, left_out = [], []
    for key, value in sorted(env.items()):
        if key in ("HOME", "HOSTNAME", "USER", "SHELL", "TERM"):
            continue
        if (
            key.isascii()
            and (key[:1].isalpha() or key[:1] == "_")
            and all(c.isalnum() or c == "_" for c in key)
            and '"' not in value
            and (comments or "#" not in value)
            and "\\" not in value
            and not any(ord(c) < 32 or ord(c) == 127 for c in value)
        ):
            words.append(f'"{key}={value}"')
        else:
            left_out.append(key)
    return " ".join(words), left_out


# Linux's limit on one environment string (MAX_ARG_STRLEN), less a margin: the words pass
# through the docker CLI's environment.
SESSION_ENV_MAX = 120 * 1024
