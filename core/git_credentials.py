"""git over HTTPS inside a workspace with this computer's credentials, lent per session.

A `podbay ssh` session asks the workspace's sshd for a UNIX socket of its own (a remote
forward, made by sshd with mode 0600: the session's user only; nothing answers on it once the
session ends). The session is told where it is (`PODBAY_GIT_CREDENTIALS`) and which helper git
uses for the lent hosts (GIT_CONFIG_* variables of the session; nothing is configured in the
container): git's own `git credential-cache --socket PATH get`, the client of git's credential
cache, so the image needs no program of podbay's. For those hosts the helper list is reset to
this one, so no other helper is asked, nor told to store what is lent. podbay answers with this
computer's `git credential fill`, only for the protocol and host of the workspace's own remotes
(its source's URL; a folder's remotes as this computer's git config had them when the
workspace was made, before a container could edit them) and hosts the user added
(`podbay git-hosts NAME --add HOST`). Others get nothing; nothing is written to a file in the
container.
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podbay.core import git_access
from podbay.core.devcontainer.values import has_control, printable
from podbay.core.errors import PodbayError

if TYPE_CHECKING:
    import asyncssh

    from podbay.core.store import Store

ENV = "PODBAY_GIT_CREDENTIALS"
# What git runs as the helper (a shell snippet: git appends the operation). Only `get`, and
# only while a session's socket is there: never a cache daemon of its own. It waits up to 3 s
# for the socket, which an `ssh NAME.podbay` connection lends beside itself (tui/ssh_proxy.py).
# No double quote nor backslash: it goes in an sshd_config SetEnv word too. The path is
# podbay's own (/tmp/podbay-git-<hex>.sock), without spaces.
HELPER = (
    f"!f() {{ test $1 = get && test ${{{ENV}:+y}} || return 0; i=0;"
    f" while ! test -S ${ENV} && test $i -lt 30; do sleep 0.1 2>/dev/null || break;"
    f" i=$((i+1)); done; test -S ${ENV} && exec git credential-cache --socket ${ENV} get; }}; f"
)
KEY = "git-hosts"  # a workspace's added hosts: git-hosts:NAME, a JSON list of "protocol://host"
MAX_REQUEST = 64 * 1024

Host = tuple[str, str]  # (protocol, host[:port]) as git's credential protocol names them


def check_host(text: str) -> Host:
    """`https://host[:port]`, `http://host[:port]` or a bare host (https) as typed."""
    value = text.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    where = git_access.remote(value + "/")
    path = value.split("://", 1)[1].partition("/")[2]
    if where.protocol not in ("https", "http") or not where.host or path or has_control(text):
        raise PodbayError(
            f"{printable(text)} is not a host git asks credentials for",
            "give HOST, HOST:PORT or https://HOST[:PORT] (no path)",
        )
    return where.protocol, where.host


def added_hosts(get_meta: Callable[[str], str | None], name: str) -> list[Host]:
    """The hosts the user added for workspace `name` (`get_meta`: Store.get_meta, or
    core.attach.read_meta on the fast path)."""
    try:
        values = json.loads(get_meta(f"{KEY}:{name}") or "[]")
    except ValueError:
        return []
    return recorded_hosts(values if isinstance(values, list) else [])


def set_added_hosts(store: Store, name: str, hosts: Iterable[Host]) -> None:
    unique = list(dict.fromkeys(hosts))
    store.set_meta(f"{KEY}:{name}", json.dumps([f"{p}://{h}" for p, h in unique]))


def recorded_hosts(values: Iterable[Any]) -> list[Host]:
    """A workspace's recorded `git_hosts` ("protocol://host") as hosts."""
    found: list[Host] = []
    for value in values:
        try:
            found.append(check_host(str(value)))
        except PodbayError:
            continue
    return found


def own_hosts(source: dict[str, Any]) -> list[Host]:
    """The HTTP(S) hosts of the workspace's own remotes: a git source's URL; a folder's
    remotes as this computer's git config has them."""
    kind, value = source.get("kind"), str(source.get("value") or "")
    urls: list[str] = []
    if kind == "git":
        urls = [value]
    elif kind == "folder" and Path(value).is_dir():
        try:
            done = subprocess.run(
                ["git", "-C", value, "config", "--get-regexp", r"^remote\..*\.(push)?url$"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None:
            urls = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if " " in line]
    hosts: list[Host] = []
    for url in urls:
        where = git_access.remote(url)
        if where.protocol in ("https", "http") and not where.has_credentials:
            hosts.append((where.protocol, where.host))
    return list(dict.fromkeys(hosts))


def hosts_of(
    name: str, recorded: Iterable[Any], get_meta: Callable[[str], str | None]
) -> list[Host]:
    """What a session of workspace `name` is lent: its recorded hosts and those the user added."""
    return list(dict.fromkeys(recorded_hosts(recorded) + added_hosts(get_meta, name)))


def answerer(hosts: list[Host]) -> Callable[[bytes], Coroutine[Any, Any, bytes]]:
    """Answers a credential-cache client's request: credentials from this computer's git for
    an allowed host's `get`, nothing for anything else."""

    async def answer(request: bytes) -> bytes:
        fields: dict[str, str] = {}
        for line in request.decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields.setdefault(key, value)
        asked = (fields.get("protocol", ""), fields.get("host", "").lower())
        if fields.get("action") != "get" or asked not in hosts:
            return b""
        where = git_access.Remote(asked[0], asked[1])
        return await git_access.fill(request, where)

    return answer


def socket_path() -> str:
    return f"/tmp/podbay-git-{secrets.token_hex(8)}.sock"


async def lend(
    conn: asyncssh.SSHClientConnection, hosts: list[Host], path: str = ""
) -> tuple[asyncssh.SSHListener | None, str]:
    """A socket in the workspace (at `path`, else a new one) that answers git for `hosts` while
    `conn` is open: (its listener, its path); (None, "") when there is nothing to lend or sshd
    refuses the forward (the session goes on without it)."""
    import asyncssh

    if not hosts:
        return None, ""
    path = path or socket_path()
    answer = answerer(hosts)

    async def serve(reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes]) -> None:
        request = b""
        try:
            while len(request) <= MAX_REQUEST and (chunk := await reader.read(65536)):
                request += chunk
            writer.write(await answer(request[:MAX_REQUEST]))
            writer.write_eof()
        finally:
            writer.close()

    try:
        listener = await conn.start_unix_server(lambda: serve, path, encoding=None)
    except (asyncssh.Error, OSError):
        return None, ""
    return listener, path


def session_variables(path: str, hosts: list[Host]) -> dict[str, str]:
    """The variables that give a session its socket ({} without one): where it is, and for
    each lent host git's helper list reset to podbay's alone (GIT_CONFIG_* variables, this
    session only), so no other helper is asked, nor told to store what podbay lends."""
    if not path:
        return {}
    pairs: list[tuple[str, str]] = []
    for protocol, host in hosts:
        key = f"credential.{protocol}://{host}.helper"
        pairs += [(key, ""), (key, HELPER)]
    variables = {ENV: path, "GIT_CONFIG_COUNT": str(len(pairs))}
    for index, (key, value) in enumerate(pairs):
        variables[f"GIT_CONFIG_KEY_{index}"] = key
        variables[f"GIT_CONFIG_VALUE_{index}"] = value
    return variables


def session_env(path: str, hosts: list[Host]) -> str:
    """session_variables as the shell words before a session's command ("" without a socket)."""
    variables = session_variables(path, hosts)
    if not variables:
        return ""
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items()) + "; "


async def wait_closed(listener: asyncssh.SSHListener | None) -> None:
    if listener is not None:
        listener.close()
        import asyncio  # (here: the ssh ProxyCommand imports this module)

        await asyncio.shield(listener.wait_closed())
