"""The command-line front: the same verbs as the TUI. Logs go to stderr, results to stdout.

Every verb takes --json. Errors a user can cause print one line and a hint, exit non-zero, and
never show a traceback. Heavy imports (pydantic models, the docker SDK, Textual) are deferred so
`podbay exec` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.attach import exec_argv, ready_record, replace_process, run_post_attach, sshd_argv
from tui.output import done, fail, printer, table
from tui.wiring import open_engine, open_store

if TYPE_CHECKING:
    from core.engine import Engine
    from core.model import WorkspaceStatus


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from tui.app import run_tui

        return run_tui()
    parser = _parser()
    ns, extra = parser.parse_known_args(args)
    if extra and ns.command not in ("exec", "ssh"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if ns.command in ("exec", "ssh"):
        ns.cmd = [*ns.cmd, *extra]
    json_mode = bool(getattr(ns, "json", False))
    from core.errors import PodbayError

    try:
        return int(ns.func(ns) or 0)
    except PodbayError as exc:
        return fail(exc.message, exc.hint, json_mode, exc.kind)
    except KeyboardInterrupt:
        print("\npodbay: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    except Exception as exc:
        from core.environment import explain

        known = explain(exc)  # a full disk, a damaged state file, permissions: not bugs
        if known is not None:
            return fail(known.message, known.hint, json_mode, known.kind)
        # A bug: say so in one line, keep the traceback in a private file.
        where = _save_traceback()
        first = str(exc).splitlines()[0] if str(exc) else ""
        return fail(
            f"internal error: {type(exc).__name__}: {first}",
            f"this is a bug in podbay; the details are in {where}",
            json_mode,
            "internal",
        )


def _save_traceback() -> str:
    """Append the traceback to $PODBAY_HOME/logs/_crash.log (0600, never through a symlink);
    where that cannot be written, print it instead."""
    import os
    import traceback

    from core.model import redact_url

    text = (
        f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} podbay "
        + " ".join(redact_url(arg) for arg in sys.argv[1:])
        + "\n"
        + traceback.format_exc()
    )
    try:
        from core import paths

        path = paths.crash_log(paths.home())
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as log:
            log.write(text)
        return str(path)
    except Exception:
        sys.stderr.write(text)
        return "the traceback above"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podbay",
        description="Development workspaces from devcontainer.json. Without a command: the TUI.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], int], help: str, **kw: Any) -> Any:
        p = sub.add_parser(name, help=help, description=help, **kw)
        p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        p.set_defaults(func=func)
        return p

    p = verb("up", cmd_up, "create or start a workspace from a folder, git URL, image or template")
    p.add_argument("source", nargs="?", help="folder, git URL[@ref], image, template, or a name")
    p.add_argument("--name", help="workspace name (default: from the source)")
    p.add_argument("--provider", help="provider to create it on (default: the default provider)")
    p.add_argument("--config", help="devcontainer.json to use when a folder has several")
    p.add_argument("--image", help="use this image instead of a devcontainer.json")
    p.add_argument(
        "--rebuild",
        "--recreate",
        dest="rebuild",
        action="store_true",
        help="rebuild the image and recreate the container (the source and named volumes stay)",
    )
    p.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="allow what a cloned repository or an image asks beyond its container "
        "(initializeCommand on this computer, privileges, host paths); remembered",
    )

    verb("list", cmd_list, "list workspaces with live status", aliases=["ls"])
    p = verb("status", cmd_status, "show one workspace")
    p.add_argument("name")
    p = verb("start", cmd_start, "start a stopped workspace (reruns postStartCommand)")
    p.add_argument("name")
    p = verb("stop", cmd_stop, "stop a workspace's container")
    p.add_argument("name")
    p = verb(
        "delete", cmd_delete, "delete a workspace (never your own source folder)", aliases=["rm"]
    )
    p.add_argument("name")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even when work in podbay's copy of the source would be lost, or the "
        "provider cannot be reached",
    )
    p = verb("logs", cmd_logs, "show a workspace's log (podbay's operations and hooks)")
    p.add_argument("name")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p.add_argument("--container", action="store_true", help="the container's own output instead")
    p = verb("exec", cmd_exec, "run a command in a workspace: podbay exec NAME -- CMD...")
    p.add_argument("name")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    verb("templates", cmd_templates, "list the bundled quick-start templates")
    p = verb(
        "ssh", cmd_ssh, "open a shell in a workspace, or run a command: podbay ssh NAME -- CMD"
    )
    p.add_argument("name")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.add_argument("--stdio", action="store_true", help="speak SSH on stdin/stdout (ProxyCommand)")
    p.add_argument("-t", dest="force_tty", action="store_true", help="a terminal for a command too")
    p = verb("forward", cmd_forward, "forward ports to localhost: podbay forward NAME PORT[:LOCAL]")
    p.add_argument("name")
    p.add_argument("ports", nargs="*", help="PORT or PORT:LOCAL (default: forwardPorts)")
    p = verb("ssh-config", cmd_ssh_config, "let `ssh NAME.podbay` work from any terminal")
    p.add_argument("action", choices=["install", "uninstall", "show"])
    p = verb("code", cmd_code, "open VS Code on a workspace (Remote-SSH)")
    p.add_argument("name")
    p = verb("doctor", cmd_doctor, "check podbay's state; repair it from containers and sources")
    p.add_argument(
        "--rebuild-state",
        action="store_true",
        help="set podbay.db aside (kept) and make the records again from the containers' "
        "labels, the sources folder and the keys; nothing is deleted",
    )

    from tui.cli_provider import (
        cmd_provider_add,
        cmd_provider_gc,
        cmd_provider_list,
        cmd_provider_policy,
        cmd_provider_remove,
        cmd_provider_set,
        cmd_provider_use,
    )

    p = verb(
        "provider", cmd_provider_list, "manage providers (list, add, set, remove, use, policy, gc)"
    )
    psub = p.add_subparsers(dest="provider_command", metavar="ACTION")

    def pverb(name: str, func: Callable[[argparse.Namespace], int], help: str) -> Any:
        q = psub.add_parser(name, help=help, description=help)
        q.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        q.set_defaults(func=func)
        return q

    pverb("list", cmd_provider_list, "list providers")
    q = pverb("add", cmd_provider_add, "add a provider: podbay provider add TYPE [--name N]")
    q.add_argument("type", help="provider type (docker, aws)")
    q.add_argument("--name", help="provider name (default: the type)")
    q.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE")
    q.add_argument("--use", action="store_true", help="make it the default provider")
    q.add_argument("--no-check", action="store_true", help="skip the connection test")
    q = pverb("set", cmd_provider_set, "change options: podbay provider set NAME KEY=VALUE...")
    q.add_argument("name")
    q.add_argument("options", nargs="+", metavar="KEY=VALUE")
    q = pverb("remove", cmd_provider_remove, "remove a provider that no workspace uses")
    q.add_argument("name")
    q = pverb("use", cmd_provider_use, "make a provider the default for new workspaces")
    q.add_argument("name")
    q = pverb("policy", cmd_provider_policy, "print the IAM policy a provider type needs (aws)")
    q.add_argument("type")
    q = pverb("gc", cmd_provider_gc, "list (--yes: remove) AWS resources no workspace owns")
    q.add_argument("name", help="the AWS provider (its name, or `aws` when there is one)")
    q.add_argument("--yes", action="store_true", help="remove what is listed")
    q.add_argument("--any-home", action="store_true", help="also other podbay homes' leftovers")
    return parser


# output -------------------------------------------------------------------------------------


def _status_json(item: WorkspaceStatus) -> dict[str, Any]:
    from core.model import age_text

    ws = item.workspace
    return {
        "name": ws.name,
        "provider": ws.provider,
        "status": str(item.status),
        "detail": item.detail,
        "source": ws.source.display(),
        "sourceKind": ws.source.kind,
        "folder": ws.folder,
        "configFile": ws.config_path,
        "containerId": ws.container_id,
        "containerName": ws.container_name,
        "image": item.image,
        "remoteUser": ws.remote_user,
        "remoteWorkspaceFolder": ws.workspace_folder,
        "createdAt": ws.created_at,
        "age": age_text(ws.created_at),
        "machine": item.machine,
    }


# verbs --------------------------------------------------------------------------------------


def cmd_up(ns: argparse.Namespace) -> int:
    import asyncio

    from core.engine import UpRequest

    engine = open_engine()
    request = UpRequest(
        source=ns.source,
        name=ns.name,
        provider=ns.provider,
        config=ns.config,
        image=ns.image,
        rebuild=ns.rebuild,
        yes=ns.yes,
    )
    ask = _ask_consent if sys.stdin.isatty() and not ns.json else None
    ws = asyncio.run(engine.up(request, printer(ns.json), ask))
    if ns.json:
        print(
            json.dumps(
                {
                    "outcome": "success",
                    "name": ws.name,
                    "containerId": ws.container_id,
                    "remoteUser": ws.remote_user,
                    "remoteWorkspaceFolder": ws.workspace_folder,
                }
            )
        )
    else:
        print(f"{ws.name} is running. Try: podbay exec {ws.name} -- bash")
    return 0


async def _ask_consent(title: str, items: list[str]) -> bool:
    """The terminal's answer to what a source from elsewhere asks (core.consent)."""
    import asyncio

    print(f"podbay: {title}:", file=sys.stderr)
    for item in items:
        print(f"  - {item}", file=sys.stderr)
    answer = await asyncio.to_thread(input, "Allow this (remembered for this source)? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_list(ns: argparse.Namespace) -> int:
    import asyncio

    from core.model import age_text, cost_cell, machine_text

    engine = open_engine()
    statuses = asyncio.run(engine.status_all())
    if ns.json:
        print(json.dumps([_status_json(s) for s in statuses], indent=2))
        return 0
    if not statuses:
        print("No workspaces yet. Create one: podbay up FOLDER | GIT-URL | IMAGE | TEMPLATE")
        return 0
    rows = [
        [
            s.workspace.name,
            s.workspace.provider,
            str(s.status),
            s.workspace.source.display(),
            age_text(s.workspace.created_at),
            cost_cell(s.machine),
        ]
        for s in statuses
    ]
    print(table(rows, ["NAME", "PROVIDER", "STATUS", "SOURCE", "AGE", "$/H"]))
    for s in statuses:
        if s.machine:
            print(f"  {s.workspace.name}: {machine_text(s.machine)}")
    for s in statuses:
        if s.status in ("Error", "Busy", "NotFound") and s.detail:
            print(f"  {s.workspace.name}: {s.detail}", file=sys.stderr)
    return 0


def cmd_status(ns: argparse.Namespace) -> int:
    import asyncio

    engine = open_engine()
    item = asyncio.run(engine.status(ns.name))
    data = _status_json(item)
    if ns.json:
        print(json.dumps(data, indent=2))
        return 0
    for key in (
        "name",
        "status",
        "detail",
        "provider",
        "source",
        "folder",
        "configFile",
        "image",
        "containerName",
        "containerId",
        "remoteUser",
        "remoteWorkspaceFolder",
        "age",
    ):
        if data.get(key):
            value = data[key][:12] if key == "containerId" else data[key]
            print(f"{key + ':':23}{value}")
    if item.machine:
        from core.model import machine_text

        print(f"{'machine:':23}{item.machine.get('id', '')} {machine_text(item.machine)}")
    return 0


def cmd_start(ns: argparse.Namespace) -> int:
    import asyncio

    engine = open_engine()
    ws = asyncio.run(engine.start(ns.name, printer(ns.json)))
    return done(ns, {"name": ws.name, "containerId": ws.container_id})


def cmd_stop(ns: argparse.Namespace) -> int:
    import asyncio

    engine = open_engine()
    ws = asyncio.run(engine.stop(ns.name, printer(ns.json)))
    return done(ns, {"name": ws.name})


def cmd_delete(ns: argparse.Namespace) -> int:
    import asyncio

    from core.errors import PodbayError, WorkAtRisk

    engine = open_engine()
    ws = engine.store.workspace(ns.name)
    if not ns.yes:
        if not sys.stdin.isatty():
            raise PodbayError(
                f"refusing to delete {ns.name} without confirmation",
                f"pass --yes: podbay delete {ns.name} --yes",
            )
        # What would be lost is checked (again) by the delete itself; here it is shown first.
        work, other = asyncio.run(_lost_or_unknown(engine, ns.name))
        if (work or other) and not ns.force:
            raise WorkAtRisk(ws.name, ws.folder, work, other)
        for item in work + other:
            print(f"  would be lost: {item}", file=sys.stderr)
        if ws.owned_folder:
            what = f"its container and podbay's copy of the source ({ws.folder})"
        else:
            what = f"its container (your folder {ws.folder} is kept)"
        answer = input(f"Delete workspace {ws.name}, {what}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.", file=sys.stderr)
            return 1
    asyncio.run(engine.delete(ns.name, printer(ns.json), force=ns.force))
    return done(ns, {"name": ns.name})


async def _lost_or_unknown(engine: Engine, name: str) -> tuple[list[str], list[str]]:
    from core.errors import PodbayError

    try:
        return await engine.work_at_risk(name)
    except PodbayError as exc:
        return [], [f"not checked ({exc.message})"]


def cmd_logs(ns: argparse.Namespace) -> int:
    if ns.container:
        # The docker CLI where the container is: here, or on the workspace's own machine
        # through podbay's relay (the same path as `podbay exec`), for every provider.
        from core.attach import docker_base, record_with_container

        record = record_with_container(ns.name)  # also while its first `up` still runs
        follow = ["--follow"] if ns.follow else []
        replace_process([*docker_base(record), "logs", *follow, record["container_id"]])
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
    from core.errors import PodbayError

    cmd = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if not cmd:
        raise PodbayError("no command given", f"podbay exec {ns.name} -- bash")
    record = ready_record(ns.name)
    replace_process(exec_argv(record, cmd, sys.stdin.isatty() and sys.stdout.isatty()))


def cmd_ssh(ns: argparse.Namespace) -> int:

    record = ready_record(ns.name)
    cmd = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if ns.stdio:
        from core.attach import stdio_argv

        replace_process(stdio_argv(ns.name))
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and (not cmd or ns.force_tty)
    if not cmd:  # an interactive attach: postAttachCommand runs, as when VS Code attaches
        run_post_attach(record, ns.name)
    if not record.get("ssh_ready"):
        print(
            f"podbay: no SSH server in {ns.name} ({record.get('ssh_note') or 'not set up'}); "
            "using docker exec",
            file=sys.stderr,
        )
        shell = ["/bin/sh", "-c", 'exec "${SHELL:-/bin/sh}" -l']
        # One argument is a shell command line here too, as over SSH.
        command = ["/bin/sh", "-c", cmd[0]] if len(cmd) == 1 else cmd
        replace_process(exec_argv(record, command or shell, interactive))
    import asyncio

    from core.ssh import client

    async def session() -> int:
        conn = await _connect(record, ns.name)
        async with conn:
            # forwardPorts stay forwarded while the session is open.
            forwards = await client.open_forwards(conn, record.get("forward_ports") or [])
            if forwards and interactive:
                for forward in forwards:
                    print(f"podbay: forwarding {forward.describe()}", file=sys.stderr)
            command = client.remote_command(record.get("workspace_folder"), cmd or None)
            return await client.run_session(conn, command, interactive)

    return asyncio.run(session())


async def _connect(record: dict[str, Any], name: str) -> Any:
    """podbay's SSH connection to the workspace; a stopped one says so instead of a lost
    connection."""
    from core import paths
    from core.attach import stopped_error
    from core.errors import PodbayError
    from core.ssh import client

    try:
        return await client.connect(
            paths.home(), name, record.get("remote_user") or "root", sshd_argv(record)
        )
    except client.HostKeyMismatch:
        raise
    except PodbayError:
        stopped = stopped_error(record)
        if stopped is not None:
            raise stopped from None
        raise


def cmd_forward(ns: argparse.Namespace) -> int:
    import asyncio

    from core.errors import PodbayError
    from core.ssh import client

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

    async def serve() -> int:
        conn = await _connect(record, ns.name)
        async with conn:
            forwards = await client.open_forwards(conn, specs)
            if ns.json:
                print(
                    json.dumps(
                        [
                            {
                                "local": f.local_port,
                                "url": f.url,
                                "host": f.target_host,
                                "port": f.target_port,
                                "note": f.note,
                            }
                            for f in forwards
                        ]
                    ),
                    flush=True,
                )
            else:
                for forward in forwards:
                    print(f"Forwarding {forward.describe()}", flush=True)
                print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
            await conn.wait_closed()
        return 0

    return asyncio.run(serve())


def cmd_ssh_config(ns: argparse.Namespace) -> int:
    from core.ssh import user_config

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
    from core.ide import open_vscode

    record = ready_record(ns.name)
    run_post_attach(record, ns.name)
    result = open_vscode(record)
    if result["opened"]:
        return done(ns, result, f"Opened VS Code on {result['folderUri']}")
    hint = "No `code` command here. Open this URL (needs `podbay ssh-config install`):"
    text = f"{hint}\n{result['url']}"
    return done(ns, result, text)


def cmd_doctor(ns: argparse.Namespace) -> int:
    from core import doctor, paths
    from core.environment import REBUILD_HINT, StateDamaged, explain
    from core.errors import PodbayError

    root = paths.home()
    try:
        store = open_store()  # a damaged state file says so here
        problem = store.check()
        store.close()
    except Exception as exc:
        known = exc if isinstance(exc, PodbayError) else explain(exc)
        if known is None:
            raise
        problem = known.message
        if not isinstance(known, StateDamaged):
            raise known from None  # a full disk or a read-only folder is not repaired here
    if not ns.rebuild_state:
        if problem:
            raise StateDamaged(problem, REBUILD_HINT)
        return done(ns, {"home": str(root)}, f"podbay's state in {root} is sound")
    if not problem:
        raise PodbayError(
            f"podbay's state in {root} is sound; there is nothing to rebuild",
            "--rebuild-state is for a damaged or emptied podbay.db",
        )
    import providers
    from core.model import ProviderConfig

    docker = providers.load(ProviderConfig(name="docker", type="docker")).endpoint()
    docker.ping()  # the records are made from its containers: it must answer first
    result = doctor.rebuild_state(root, docker)
    open_store().close()  # the local Docker provider again, as on a first run
    lines = []
    if result.kept_as:
        lines.append(f"the previous state file is kept as {result.kept_as}")
    for name in result.from_old_file:
        lines.append(f"{name}: its record could still be read and is kept as it was")
    for name in result.from_containers:
        lines.append(f"{name}: rebuilt from its container; finish with: podbay up {name}")
    for name in result.from_folders:
        lines.append(f"{name}: rebuilt from sources/{name} (no container); podbay up {name}")
    if result.other_homes:
        lines.append(
            "containers of other podbay homes were left alone (ids "
            + ", ".join(result.other_homes)
            + ")"
        )
    if not (result.from_old_file or result.from_containers or result.from_folders):
        lines.append("no workspace was found to rebuild")
    data = {
        "keptAs": str(result.kept_as) if result.kept_as else None,
        "fromOldFile": result.from_old_file,
        "fromContainers": result.from_containers,
        "fromFolders": result.from_folders,
        "otherHomes": result.other_homes,
    }
    return done(ns, data, "\n".join(lines))


def cmd_templates(ns: argparse.Namespace) -> int:
    from core import templates

    found = templates.all_templates()
    if ns.json:
        print(json.dumps([{"name": t.name, "title": t.title, "image": t.image} for t in found]))
        return 0
    print(table([[t.name, t.title, t.image] for t in found], ["NAME", "DESCRIPTION", "IMAGE"]))
    print("\nUse one: podbay up TEMPLATE (or template:TEMPLATE)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
