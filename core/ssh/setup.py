"""SSH access to a workspace: sshd set up in its container, and podbay's ssh_config written."""

from __future__ import annotations

import asyncio

from podbay.core.docker import DockerEndpoint
from podbay.core.model import Workspace
from podbay.core.reporter import Reporter
from podbay.core.ssh import bootstrap as ssh_bootstrap
from podbay.core.ssh import config as ssh_config
from podbay.core.ssh import keys as ssh_keys
from podbay.core.store import Store


async def setup_ssh(
    store: Store,
    ws: Workspace,
    docker: DockerEndpoint,
    env: dict[str, str],
    keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
    report: Reporter,
) -> None:
    """sshd in the container with the workspace's keys; a failure only disables ssh."""
    assert ws.container_id is not None
    report.step("setting up SSH access")
    report.bind_loop()
    keys = await keys_ready
    result = await asyncio.to_thread(
        ssh_bootstrap.ensure_sshd,
        docker,
        ws.container_id,
        keys,
        ws.remote_user or "root",
        env,
        report.log_threadsafe,
        ws.workspace_folder or "",
    )
    ws.ssh_container, ws.ssh_ready, ws.ssh_note = ws.container_id, result.ready, result.note
    ws.shell = "bash" if result.bash else "sh"
    if not result.bash:
        report.warn(f"{ws.name} has no bash; its shell is sh: podbay exec {ws.name} -- sh")
    store.save_workspace(ws)
    # Pinned now, not at the end of `up`: attaching works from waitFor on, and a failing
    # later hook must not leave the workspace without its key (a false mismatch alarm).
    write_ssh_config(store)
    if not result.ready:
        report.warn(f"no SSH for {ws.name}: {result.note}; `podbay ssh {ws.name}` uses docker exec")


def write_ssh_config(store: Store) -> None:
    """Rewrite podbay's ssh_config and known_hosts from the workspace records."""
    entries = []
    for ws in store.workspaces():
        keys = ssh_keys.of(store.root, ws.name)
        # Workspaces without sshd get an entry too: their ProxyCommand says why.
        if ws.ssh_container and keys.host_key.exists():
            entries.append(
                ssh_config.HostEntry(
                    name=ws.name,
                    user=ws.remote_user or "root",
                    identity_file=keys.client_key,
                    host_public_key=keys.host_public(),
                )
            )
    ssh_config.write(store.root, entries)


def refresh_ssh_config(store: Store) -> bool:
    """Rewrite podbay's ssh_config when its ProxyCommand is not this podbay's (an upgrade that
    moved the package, a moved virtual environment); True when it did. One small file read."""
    try:
        text = ssh_config.ssh_config_path(store.root).read_text(encoding="utf-8")
    except OSError:
        return False
    current = ssh_config.proxy_command("NAME").rsplit(" ", 1)[0].replace("%", "%%")
    if "ProxyCommand" not in text or current in text:
        return False
    write_ssh_config(store)
    return True
