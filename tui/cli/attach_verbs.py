"""Attach verbs: logs, exec, ssh, forward, code and ssh-config; `exec` and `ssh` start fast."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from podbay.core.attach import (
    exec_argv,
    ready_record,
    replace_process,
    run_post_attach,
    with_secrets,
)
from podbay.tui.output import done
from podbay.tui.wiring import open_engine

if TYPE_CHECKING:
    import asyncssh

    from podbay.core.attach import AttachRecord
    from podbay.core.ssh.client import Forward


def cmd_logs(ns: argparse.Namespace) -> int:
    if ns.container:
        # The docker CLI where the container is: here, or on the workspace's own machine
        # through podbay's relay (the same path as `podbay exec`), for every provider.
        from podbay.core.attach import docker_base, record_with_container

        record = record_with_container(ns.name)  # also while its first `up` still runs
        follow = ["--follow"] if ns.follow else []
        return _become(record, [*docker_base(record), "logs", *follow, record["container_id"]])
    engine = open_engine()
    path = engine.log_file(ns.name)
    with open(path, "a+", encoding="utf-8") as log:
        log.seek(0)
        while True:
            line = log.readline()
            if line:
                if ns.json:
                    print(json.dumps({"line": line.rstrip("\n")}), flush=True)
                else:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                continue
            if not ns.follow:
                return 0
            if engine.store.find_workspace(ns.name) is None:
                return 0  # deleted while following
            time.sleep(0.2)


def cmd_exec(ns: argparse.Namespace) -> int:
    """Replace podbay with `docker exec` as the remote user, in the workspace folder."""
    from podbay.core.errors import PodbayError

    cmd = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if not cmd:
        raise PodbayError("no command given", f"podbay exec {ns.name} -- bash")
    record = ready_record(ns.name)
    argv = exec_argv(record, cmd, sys.stdin.isatty() and sys.stdout.isatty())
    return _become(record, *with_secrets(record, argv, workspace_secrets(ns.name)))


def _become(record: AttachRecord, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Become `argv`; a command for the workspace's own machine (podbay's relay, see
    core.attach.docker_base) is relayed from this process instead: one interpreter's start
    less, where the kept connection (core/ssh/mux.py) makes the rest a round trip."""
    from podbay.core.attach import machine_ssh

    if machine_ssh(record) is None or argv[:3] != [sys.executable, "-E", "-c"]:
        replace_process(argv, env)
    import os

    from podbay.core.ssh import relay

    os.environ.update(env or {})
    return relay.run(argv[4], argv[5:])


def workspace_secrets(name: str) -> dict[str, str]:
    """The workspace's secrets (core/secrets_store.py); {} at once when none are set (no
    import of the models: `exec` starts fast)."""
    from podbay.core.attach import StoreView, read_meta

    if (read_meta("secrets") or "[]") == "[]":
        return {}
    import asyncio

    from podbay.core import secrets_store

    async def read(wanted: list[tuple[str, str]]) -> secrets_store.Answers:
        return await open_engine().read_secrets(wanted, name)  # (only when a reference is set)

    return asyncio.run(secrets_store.values_for(StoreView(), name, read))


def cmd_ssh(ns: argparse.Namespace) -> int:
    record = ready_record(ns.name)
    cmd = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if ns.stdio:
        from podbay.core.attach import stdio_argv

        replace_process(stdio_argv(ns.name))
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and (not cmd or ns.force_tty)
    values = workspace_secrets(ns.name)
    if not cmd:  # an interactive attach: postAttachCommand runs, as when VS Code attaches
        run_post_attach(record, ns.name, values)
    if not record.get("ssh_ready"):
        print(
            f"podbay: no SSH server in {ns.name} ({record.get('ssh_note') or 'not set up'}); "
            "using docker exec",
            file=sys.stderr,
        )
        shell = ["/bin/sh", "-c", 'exec "${SHELL:-/bin/sh}" -l']
        # One argument is a shell command line here too, as over SSH.
        command = ["/bin/sh", "-c", cmd[0]] if len(cmd) == 1 else cmd
        return _become(
            record, *with_secrets(record, exec_argv(record, command or shell, interactive), values)
        )
    import asyncio

    from podbay.core import git_credentials
    from podbay.core.attach import read_meta
    from podbay.core.ssh import client

    # git inside may ask for the HTTPS credentials of the workspace's own remotes.
    hosts = git_credentials.hosts_of(ns.name, record.get("git_hosts") or [], read_meta)
    from podbay.core.ssh.bootstrap import secrets_for_session

    secret_env, secret_words = secrets_for_session(values)

    async def session() -> int:
        conn = await _connect(record, ns.name)
        async with conn:
            # forwardPorts stay forwarded while the session is open.
            forwards = await client.open_forwards(conn, record.get("forward_ports") or [])
            if forwards and interactive:
                for forward in forwards:
                    print(f"podbay: forwarding {forward.describe()}", file=sys.stderr)
            lent, socket = await git_credentials.lend(conn, hosts)
            command = client.remote_command(record.get("workspace_folder"), cmd or None)
            command = git_credentials.session_env(socket, hosts) + secret_words + command
            code = await client.run_session(conn, command, interactive, secret_env)
            await git_credentials.wait_closed(lent)
        return code

    return asyncio.run(session())


async def _connect(record: AttachRecord, name: str) -> asyncssh.SSHClientConnection:
    """podbay's SSH connection to the workspace; a stopped one says so instead of a lost
    connection."""
    from podbay.core import paths
    from podbay.core.attach import stopped_error
    from podbay.core.errors import PodbayError
    from podbay.core.ssh import client
    from podbay.tui import forwarding

    try:
        return await forwarding.connect(paths.home(), name, record)
    except client.HostKeyMismatch:
        raise
    except PodbayError:
        stopped = stopped_error(record)
        if stopped is not None:
            raise stopped from None
        raise


def cmd_forward(ns: argparse.Namespace) -> int:
    import asyncio

    from podbay.core.errors import PodbayError
    from podbay.core.ssh import client
    from podbay.tui import forwarding

    record = ready_record(ns.name)
    specs: list[str | int] = list(ns.ports) or list(record.get("forward_ports") or [])
    if not specs:
        raise PodbayError(
            f"no ports to forward for {ns.name}",
            f"name them: podbay forward {ns.name} 8000 (or set forwardPorts in devcontainer.json)",
        )
    for spec in specs:
        client.parse_forward(spec)  # bad input fails before connecting
    if not record.get("ssh_ready"):
        raise PodbayError(
            f"workspace {ns.name} has no SSH server: {record.get('ssh_note') or 'not set up'}",
            "port forwarding needs sshd in the container",
        )

    def opened(forwards: list[Forward]) -> None:
        if ns.json:
            print(json.dumps([_forward_json(f) for f in forwards]), flush=True)
            return
        for forward in forwards:
            print(f"Forwarding {forward.describe()}", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)

    async def serve() -> int:
        await forwarding.serve_forwards(await _connect(record, ns.name), specs, opened)
        return 0

    return asyncio.run(serve())


def _forward_json(forward: Forward) -> dict[str, Any]:
    return {
        "local": forward.local_port,
        "url": forward.url,
        "host": forward.target_host,
        "port": forward.target_port,
        "note": forward.note,
    }


def cmd_ssh_config(ns: argparse.Namespace) -> int:
    from podbay.core.ssh import user_config

    engine = open_engine()
    engine.write_ssh_config()
    include = engine.store.root / "ssh_config"
    if ns.action == "show":
        print(include.read_text(), end="")
        return 0
    target = user_config.user_ssh_config()
    if ns.action == "install":
        changed = user_config.install(target, include)
        text = f"{target} includes {include}" + ("" if changed else " (already)")
        return done(ns, {"file": str(target), "include": str(include), "changed": changed}, text)
    changed = user_config.uninstall(target)
    text = f"removed podbay's block from {target}" if changed else f"no podbay block in {target}"
    return done(ns, {"file": str(target), "changed": changed}, text)


def cmd_code(ns: argparse.Namespace) -> int:
    from podbay.core import ide
    from podbay.core.errors import PodbayError
    from podbay.tui.wiring import open_store

    record = ready_record(ns.name)
    chosen = ide.check(ns.ide) if ns.ide else ide.chosen(open_store(), ns.name)
    if chosen == "none":
        raise PodbayError(
            f"no IDE is chosen for {ns.name}", f"choose one: podbay ide {ns.name} vscode"
        )
    run_post_attach(record, ns.name, workspace_secrets(ns.name))
    result = ide.open_ide(record, chosen)
    title = ide.IDES[chosen].title
    if result["opened"]:
        return done(ns, result, f"Opened {title} on {result['folderUri']}")
    command = ide.IDES[chosen].command
    missing = f"No `{command}` command here. " if command else ""
    text = f"{missing}Open this URL (needs `podbay ssh-config install`):\n{result['url']}"
    return done(ns, result, text)


def cmd_ide(ns: argparse.Namespace) -> int:
    from podbay.core import ide
    from podbay.tui.wiring import open_store

    store = open_store()
    if ns.set_default:
        ide.choose(store, None, ns.set_default)
    elif ns.name and ns.ide:
        store.workspace(ns.name)  # the usual error for an unknown one
        ide.choose(store, ns.name, None if ns.ide == "default" else ns.ide)
    default = ide.default(store)
    if ns.name is None:
        return done(ns, {"default": default, "ides": list(ide.IDES)}, f"default IDE: {default}")
    store.workspace(ns.name)
    chosen = ide.chosen(store, ns.name)
    note = "" if store.get_meta(f"ide:{ns.name}") else " (the default)"
    return done(
        ns, {"name": ns.name, "ide": chosen, "default": default}, f"{ns.name}: {chosen}{note}"
    )
