"""The ssh ProxyCommand's entry (core/ssh/proxy.py), with the front's part: what the sessions
of `ssh NAME.podbay` (and VS Code, which connects that way) are given, as sshd SetEnv words for
this connection only (core/ssh/sshd.py).

- The user's secrets (core/secrets_store.py).
- git over HTTPS with this computer's credentials (core/git_credentials.py): a lender beside
  the connection, a process of its own with podbay's own SSH connection to the workspace,
  holds a remote UNIX socket (mode 0600, the remote user's) at a path chosen here and answers
  on it until the connection's exec channel ends. The sessions get the path and git's helper
  list; the helper waits a moment for the socket while the lender connects.
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
    return setenv_words(variables)[0]


def _start_lender(name: str, path: str) -> None:
    """Start the lender of `path` for this connection. It reads a pipe whose other end this
    process keeps, through its exec into the channel (docker exec, or the relay): the end of
    the channel is the lender's end. Not waited for."""
    import subprocess

    ended, keep = os.pipe()
    os.set_inheritable(keep, True)  # held by the channel this process becomes
    code = "import podbay.tui.ssh_proxy as p; p.lender()"
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}  # no agent of its own
    subprocess.Popen(
        [sys.executable, "-c", code, name, path, str(ended)],
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

    name, path, ended = sys.argv[1], sys.argv[2], int(sys.argv[3])

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
            await closed.wait()
            await git_credentials.wait_closed(listener)

    try:
        asyncio.run(lend())
    except Exception:  # (see above: the sessions go on without it)
        raise SystemExit(1) from None


def main() -> None:
    proxy.main(session_env)
