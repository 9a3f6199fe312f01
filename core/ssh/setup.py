"""SSH access to a workspace: sshd set up in its container, and podbay's ssh_config written."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from podbay.core.docker import ByteStream, DockerEndpoint
from podbay.core.model import Workspace
from podbay.core.reporter import Reporter
from podbay.core.ssh import bootstrap as ssh_bootstrap
from podbay.core.ssh import config as ssh_config
from podbay.core.ssh import keys as ssh_keys
from podbay.core.store import Store

if TYPE_CHECKING:
    from podbay.core.hooks import ProbeCommand


class SshSetup:
    """sshd set up in the workspace's container, running (core/ssh/bootstrap.py's one exec);
    a failure only disables ssh. Without `env`, the sessions' environment comes later through
    give_env: meanwhile `patched` and `probed` (the inline probe's raw output) come true."""

    def __init__(
        self,
        store: Store,
        ws: Workspace,
        docker: DockerEndpoint,
        keys_ready: asyncio.Future[ssh_keys.WorkspaceKeys],
        report: Reporter,
        env: dict[str, str] | None = None,
        patch: bool = False,
        probe: ProbeCommand | None = None,
        hook_later: bool = False,
        container_env: dict[str, str] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.patched: asyncio.Future[None] = loop.create_future()
        self.probe_started: asyncio.Future[None] = loop.create_future()
        self.probed: asyncio.Future[bytes] = loop.create_future()
        self._loop = loop
        self.probe = probe  # run by the setup's exec (for root)
        self._store, self._ws, self._report = store, ws, report
        self._keys_ready = keys_ready
        self.hook_later = hook_later  # its exec can become the first hook (take_over)
        self._container_env = container_env or {}  # (what an exec's environment starts from)
        self._given = env is not None
        self._aborted = False
        assert ws.container_id is not None
        self._setup = ssh_bootstrap.SshdSetup(
            docker,
            ws.container_id,
            ws.remote_user or "root",
            ws.workspace_folder or "",
            report.log_threadsafe,
            env=env,
            patch=patch,
            probe=probe,
            on_patched=lambda: self._settle(self.patched, None),
            on_probe=lambda: self._settle(self.probe_started, None),
            on_probed=lambda output: self._settle(self.probed, output),
            hook_later=hook_later,
        )
        self.task = asyncio.create_task(self._run())

    def give_env(self, env: dict[str, str]) -> None:
        """The sessions' environment, when it was not known at the start."""
        if not self._given:
            self._given = True
            self._setup.give_env(env)  # (sent once the setup's exec runs)

    async def finish(self) -> None:
        """Wait for the setup (its environment given); its exec ends if no hook took it over."""
        try:
            await self.task
        finally:
            if self.hook_later:
                await asyncio.to_thread(self._setup.release)

    def take_over(
        self, argv: list[str], folder: str, env: dict[str, str]
    ) -> tuple[ByteStream, Callable[[], int]] | None:
        """Run a hook command as the setup's exec, once (see SshdSetup.take_over); None when
        it cannot. Blocking: from the hook's thread."""
        job = ssh_bootstrap.hook_job(argv, folder, {**self._container_env, **env})
        if job is None or self._aborted:
            return None
        return self._setup.take_over(job)

    async def abort(self) -> None:
        """`up` failed or was cancelled before the environment was known: the setup is not
        waited for and not recorded (the next `up` makes it again, with its environment)."""
        self._aborted = self._given = True
        self._setup.abort()
        with contextlib.suppress(Exception):
            await self.task

    def _settle(self, future: asyncio.Future[Any], value: Any) -> None:
        def settle() -> None:
            if not future.done():
                future.set_result(value)

        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            self._loop.call_soon_threadsafe(settle)

    async def _run(self) -> None:
        self._report.step("setting up SSH access")
        self._report.bind_loop()
        try:
            await self._setup_in_container()
        finally:
            # Whatever happened: nobody waits on a setup that has ended.
            for future in (self.patched, self.probe_started):
                self._settle(future, None)
            self._settle(self.probed, b"")

    async def _setup_in_container(self) -> None:
        store, ws, report = self._store, self._ws, self._report
        assert ws.container_id is not None
        keys = await self._keys_ready
        if self._aborted:
            return
        result = await asyncio.to_thread(self._setup.run, keys)
        if self._aborted:
            return
        ws.ssh_container, ws.ssh_ready, ws.ssh_note = ws.container_id, result.ready, result.note
        ws.shell = "bash" if result.bash else "sh"
        if not result.bash:
            report.warn(f"{ws.name} has no bash; its shell is sh: podbay exec {ws.name} -- sh")
        store.save_workspace(ws)
        # Pinned now, not at the end of `up`: attaching works from waitFor on, and a failing
        # later hook must not leave the workspace without its key (a false mismatch alarm).
        write_ssh_config(store)
        if not result.ready:
            report.warn(
                f"no SSH for {ws.name}: {result.note}; `podbay ssh {ws.name}` uses docker exec"
            )


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
