"""Workspace verbs: up, list, status, start, stop, delete, templates and doctor."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from podbay.tui.output import ask, done, printer, table
from podbay.tui.wiring import open_engine, open_store

if TYPE_CHECKING:
    from podbay.core.doctor import Rebuilt
    from podbay.core.engine import Engine
    from podbay.core.model import Workspace, WorkspaceStatus


def _status_json(item: WorkspaceStatus) -> dict[str, Any]:
    from podbay.core.model import age_text

    ws = item.workspace
    return {
        "name": ws.name,
        "provider": ws.provider,
        "status": str(item.status),
        "detail": item.detail,
        "hint": f"podbay up {ws.name}" if item.fix == "up" else None,
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
        "machine": item.machine.model_dump(exclude_none=True) if item.machine else None,
        "changed": item.changed,
    }


def cmd_up(ns: argparse.Namespace) -> int:
    import asyncio

    from podbay.core.engine import UpRequest

    engine = open_engine()
    request = UpRequest(
        source=ns.source,
        name=ns.name,
        provider=ns.provider,
        config=ns.config,
        image=ns.image,
        rebuild=ns.rebuild,
        yes=ns.yes,
        no_dotfiles=ns.no_dotfiles,
        git_root=ns.git_root,
        prebuild=ns.prebuild,
    )
    ask = _ask_consent if sys.stdin.isatty() and not ns.json else None
    if ns.count is not None or ns.prefix is not None:
        from podbay.tui.cli import room_verbs

        if ns.count is None or ns.prefix is None:
            from podbay.core.errors import PodbayError

            raise PodbayError("--count and --prefix go together", "e.g. --count 20 --prefix ws-")
        return room_verbs.up_room(ns, request, ask)
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
        print(f"{ws.name} is running. Try: podbay exec {ws.name} -- {ws.shell}")
    return 0


async def _ask_consent(title: str, items: list[str]) -> bool:
    """The terminal's answer to what a source from elsewhere asks (core.consent)."""
    return await ask(f"{title}:", items, "Allow this (remembered for this source)?")


def cmd_list(ns: argparse.Namespace) -> int:
    import asyncio

    from podbay.core.model import age_text, cost_cell, machine_text

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
        if s.status in ("Error", "Busy", "NotFound", "Incomplete") and s.detail:
            fix = f"; run: podbay up {s.workspace.name}" if s.fix == "up" else ""
            print(f"  {s.workspace.name}: {s.detail}{fix}", file=sys.stderr)
    return 0


def cmd_status(ns: argparse.Namespace) -> int:
    import asyncio

    engine = open_engine()
    item = asyncio.run(engine.status(ns.name))
    data = _status_json(item)
    if ns.json:
        print(json.dumps(data, indent=2))
        return 0
    if data["hint"]:
        data["detail"] += f"; run: {data['hint']}"
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
        from podbay.core.model import machine_text

        print(f"{'machine:':23}{item.machine.id} {machine_text(item.machine)}")
    if item.changed:
        what = ", ".join(item.changed)
        rebuild = f"podbay up {item.workspace.name} --rebuild"
        print(f"{'config:':23}changed since the container was made ({what}); {rebuild}")
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


def cmd_sync(ns: argparse.Namespace) -> int:
    import asyncio

    engine = open_engine()
    if ns.watch:
        from podbay.core.errors import PodbayError

        if ns.force:
            raise PodbayError("--watch and --force do not go together", "sync --force first")
        synced = asyncio.run(engine.watch(ns.name, printer(ns.json)))
        return done(ns, {"name": ns.name, "brought": synced.brought, "sent": synced.sent})
    synced = asyncio.run(engine.sync(ns.name, ns.force, printer(ns.json)))
    return done(ns, {"name": ns.name, "brought": synced.brought, "overwritten": synced.overwritten})


def cmd_delete(ns: argparse.Namespace) -> int:
    import asyncio

    from podbay.core.errors import PodbayError, WorkAtRisk

    if ns.prefix is not None:
        from podbay.tui.cli import room_verbs

        if ns.name is not None:
            raise PodbayError("give NAME or --prefix, not both", "podbay delete --prefix ws-")
        return room_verbs.delete_room(ns)
    if ns.name is None:
        raise PodbayError("which workspace?", "podbay delete NAME (or --prefix PREFIX: a room)")
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
        if work and not ns.force and _synced_first(engine, ws, work):
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


def _synced_first(engine: Engine, ws: Workspace, work: list[str]) -> bool:
    """A copy of a folder here with changes on its machine: offer to bring them back first
    (podbay sync); True when they were."""
    import asyncio

    from podbay.core import sync
    from podbay.core.devcontainer.values import shown

    if not sync.is_copy(ws):
        return False
    for item in work:
        print(f"  would be lost: {shown(item, 500)}", file=sys.stderr)
    answer = input(f"Bring them back to {ws.source.value} first (podbay sync {ws.name})? [Y/n] ")
    if answer.strip().lower() not in ("", "y", "yes"):
        return False
    synced = asyncio.run(engine.sync(ws.name, False, printer(False)))
    print(f"Brought back {len(synced.brought)} file(s).", file=sys.stderr)
    return True


async def _lost_or_unknown(engine: Engine, name: str) -> tuple[list[str], list[str]]:
    from podbay.core.errors import PodbayError

    try:
        return await engine.work_at_risk(name)
    except PodbayError as exc:
        return [], [f"not checked ({exc.message})"]


def cmd_doctor(ns: argparse.Namespace) -> int:
    from podbay.core import doctor, paths
    from podbay.core.environment import REBUILD_HINT, StateDamaged, explain
    from podbay.core.errors import PodbayError

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
    from podbay.core.docker import DockerEndpoint, current_context_host

    docker = DockerEndpoint(current_context_host())  # the local engine, as a first run has it
    docker.ping()  # the records are made from its containers: it must answer first
    result = doctor.rebuild_state(root, docker)
    open_store().close()  # the local Docker provider again, as on a first run
    data = {
        "keptAs": str(result.kept_as) if result.kept_as else None,
        "fromOldFile": result.from_old_file,
        "fromContainers": result.from_containers,
        "fromFolders": result.from_folders,
        "otherHomes": result.other_homes,
    }
    return done(ns, data, "\n".join(_rebuilt_lines(result)))


def _rebuilt_lines(result: Rebuilt) -> list[str]:
    """What `doctor --rebuild-state` did, a line per workspace."""
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
    return lines


def cmd_templates(ns: argparse.Namespace) -> int:
    from podbay.core import templates

    found = templates.all_templates()
    if ns.json:
        print(json.dumps([{"name": t.name, "title": t.title, "image": t.image} for t in found]))
        return 0
    print(table([[t.name, t.title, t.image] for t in found], ["NAME", "DESCRIPTION", "IMAGE"]))
    print("\nUse one: podbay up TEMPLATE (or template:TEMPLATE)", file=sys.stderr)
    return 0
