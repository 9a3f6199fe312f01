"""The ssh ProxyCommand's entry (core/ssh/proxy.py), with the front's part: what the sessions
of `ssh NAME.podbay` (and VS Code, which connects that way) are given, as sshd SetEnv words for
this connection only (core/ssh/sshd.py).

- The user's secrets (core/secrets_store.py).
- git over HTTPS with this computer's credentials (core/git_credentials.py): a lender beside
  the connection, a process of its own with podbay's own SSH connection to the workspace,
  holds a remote UNIX socket (mode 0600, the remote user's) at a path chosen here and answers
  on it until the connection's exec channel ends (its pipe closes, or its process is gone).
  The sessions get the path and git's helper list; the helper waits a moment for the socket
  while the lender connects.
"""

from __future__ import annotations

import os
import sys

from podbay.core.ssh import proxy


def session_env(name: str) -> str:
    """The SetEnv words for a connection to `name` ("" when it is given nothing)."""
    import site

    site.main()  # the ProxyCommand runs as `python -S`: the keyring and boto3 are site packages
    from podbay.core import git_credentials
    from podbay.core.attach import read_meta, ready_record
    from podbay.core.ssh.sshd import setenv_words
    from podbay.tui.cli.attach_verbs import workspace_secrets

    variables = workspace_secrets(name)
    record = ready_record(name)
    hosts = git_credentials.hosts_of(name, record.get("git_hosts") or [], read_meta)
    if hosts and record.get("ssh_ready"):
        path = git_credentials.socket_path()
        _start_lender(name, path)
        variables = {**variables, **git_credentials.session_variables(path, hosts)}
    # (a `#` too: an sshd before 8.7 would drop the rest of the line at it)
    words, left_out = setenv_words(variables, comments=False)
    if left_out:  # (a reference's value is first seen here; `secret set` tells of the others)
        print(
            f"podbay: {', '.join(left_out)} not given to this session: a quote, a backslash, "
            "a # or a line break; podbay ssh gives them",
            file=sys.stderr,
        )
    return words


def _start_lender(name: str, path: str) -> None:
    """Start the lender of `path` for this connection. It reads a pipe whose other end this
    process keeps, through its exec into the channel (docker exec, or the relay): the end of
    the channel is the lender's end. Not waited for."""
    import subprocess

    from podbay import IMPORT_ROOT

    ended, keep = os.pipe()
    os.set_inheritable(keep, True)  # held by the channel this process becomes
    # Started as the ProxyCommand is (-E, podbay's own import root first), with site packages.
    code = (
        f"import sys; sys.path.insert(0, {IMPORT_ROOT!r}); "
        "import podbay.tui.ssh_proxy as p; p.lender()"
    )
    # No agent to forward; a machine of the user's may still log them in with it.
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    if os.environ.get("SSH_AUTH_SOCK"):
        env["PODBAY_LOGIN_AGENT"] = os.environ["SSH_AUTH_SOCK"]  # (core.ssh.machine's)
    subprocess.Popen(
        [sys.executable, "-E", "-P", "-c", code, name, path, str(ended), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # never the SSH stream's pipe, which ssh waits to close
        stderr=subprocess.DEVNULL,
        pass_fds=(ended,),
        start_new_session=True,  # not ended by the terminal's signals: by the pipe
        env=env,
    )
    os.close(ended)


def lender() -> None:
    """The lender's entry (`... -c "...; p.lender()" NAME PATH FD`). Nobody reads its errors:
    without it, git in the sessions finds no socket and asks as it would without podbay."""
    import asyncio

    from podbay.core import git_credentials, paths
    from podbay.core.attach import read_meta, ready_record
    from podbay.tui import forwarding

    name, path = sys.argv[1], sys.argv[2]
    ended, channel = int(sys.argv[3]), int(sys.argv[4])

    async def channel_gone() -> None:
        """The channel's process (the ProxyCommand, after its exec) has ended: a child of the
        docker CLI that outlives it may still hold the pipe."""
        while True:
            try:
                os.kill(channel, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                pass
            await asyncio.sleep(1)

    async def lend() -> None:
        record = ready_record(name)
        hosts = git_credentials.hosts_of(name, record.get("git_hosts") or [], read_meta)
        conn = await forwarding.connect(paths.home(), name, record)
        async with conn:
            listener, _ = await git_credentials.lend(conn, hosts, path)
            if listener is None:
                return
            closed = asyncio.Event()
            asyncio.get_running_loop().add_reader(ended, closed.set)
            watch = asyncio.ensure_future(channel_gone())
            await asyncio.wait(
                [asyncio.ensure_future(closed.wait()), watch], return_when=asyncio.FIRST_COMPLETED
            )
            await git_credentials.wait_closed(listener)

    try:
        asyncio.run(lend())
    except Exception:  # (see above: the sessions go on without it)
        raise SystemExit(1) from None


def main() -> None:
    proxy.main(session_env)
