"""PURE: checks on values a config, an image label or a feature hands podbay.

These values are untrusted (a third-party image is enough to supply them) and end up in
ssh_config, shell scripts and docker arguments. Each is checked here once, when the merged
settings are made, so later code can use it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from podbay.core.errors import ConfigError

# A POSIX user name (as useradd accepts it, up to 32 characters, a trailing $ for machine
# accounts) or a numeric id, optionally with `:group` as `docker run -u` takes it.
_USER_PART = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,31}\$?"
USER_NAME = re.compile(rf"{_USER_PART}(:{_USER_PART})?")
# A workspace name: it becomes the host name NAME.podbay, a container name part and a file name.
WORKSPACE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# Docker's image reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest].
_DOMAIN = (
    r"(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_ENV_NAME = re.compile(r"[^=\x00]+")


def check_user(value: str, what: str, origin: str) -> str:
    """`value` when it is a user name or id; else a ConfigError naming where it came from."""
    if USER_NAME.fullmatch(value):
        return value
    raise ConfigError(
        f"{what} {printable(value)} (from {origin}) is not a user name",
        "a user name is letters, digits, '.', '_' and '-' (or a numeric id); "
        "podbay does not run images whose metadata says otherwise",
    )


def check_env(env: Mapping[str, object], what: str, origin: str) -> None:
    """Names without '=' or NUL, values without NUL: what a process environment can hold."""
    for key, value in env.items():
        if not _ENV_NAME.fullmatch(key):
            raise ConfigError(
                f"{what} has an invalid variable name {printable(key)} (from {origin})",
                "a name is not empty and holds no '=' or NUL character",
            )
        if isinstance(value, str) and "\x00" in value:
            raise ConfigError(
                f"{what}.{key} contains a NUL character (from {origin})",
                "an environment variable cannot hold NUL; remove it",
            )


def has_control(text: str) -> bool:
    """Whether `text` holds an ASCII control character (a line break, NUL, DEL, ...)."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def printable(value: str, limit: int = 60) -> str:
    """A value as it is safe to show in one line on a terminal: quoted, control characters
    escaped, cut to `limit` characters."""
    shown = value if len(value) <= limit else value[:limit] + "…"
    return repr(shown)


def shown(value: str, limit: int = 200) -> str:
    """Text from elsewhere (a registry's label, a machine's file name) as it may reach a
    terminal: as it is when every character prints, else quoted and escaped (printable)."""
    return value if value.isprintable() and len(value) <= limit else printable(value, limit)


def port_spec(spec: str | int) -> tuple[int, str, int]:
    """`PORT`, `PORT:LOCAL` (the CLI), or forwardPorts' `N` / `"host:port"` ->
    (local port, host, port); a port outside 1-65535 (a local 0: any free one) is an error."""
    bad = ConfigError(
        f"bad port {spec!r}",
        "write PORT or PORT:LOCAL_PORT with ports from 1 to 65535 (LOCAL_PORT 0: any free one), "
        'e.g. 8000 or 8000:9000; forwardPorts also take "host:port"',
    )

    def number(text: str) -> int:
        if not re.fullmatch(r"\d{1,5}", text):
            raise bad
        return int(text)

    if isinstance(spec, bool):
        raise bad
    if isinstance(spec, int):
        local, host, port = spec, "localhost", spec
    else:
        head, sep, tail = spec.partition(":")
        if not sep:
            local, host, port = number(head), "localhost", number(head)
        elif head.isdigit():
            local, host, port = number(tail), "localhost", number(head)  # PORT:LOCAL
        elif re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", head):
            local, host, port = number(tail), head, number(tail)  # host:port from forwardPorts
        else:
            raise bad
    if not 1 <= port <= 65535 or not 0 <= local <= 65535:
        raise bad
    return local, host, port


def check_image(value: str, what: str) -> str:
    """`value` when it is an image reference docker accepts; a ConfigError otherwise."""
    if len(value) <= 512 and IMAGE_REFERENCE.fullmatch(value):
        return value
    raise ConfigError(
        f"{what} {printable(value)} is not a valid image reference",
        "write NAME[:TAG] or REGISTRY/NAME[:TAG][@sha256:DIGEST], lower-case, e.g. debian:bookworm",
    )
