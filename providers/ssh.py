"""Any machine you reach over SSH: its Docker runs the workspaces, several on one machine.

podbay logs in as you do with OpenSSH (your agent, your ~/.ssh/config for the host, your keys
or `identity_file`), pinned to the host key confirmed at `provider add`: the key is taken from
your known_hosts when it is there, else shown with its fingerprint and kept only once you say
yes. A machine that later shows another key is refused. The machine's Docker socket is
forwarded over the connection (core/ssh/machine.py's SshHost), as for an AWS VM, and the
workspaces' folders live under `workdir` there. `stop` and `delete` act on the containers and
on podbay's folders under `workdir`, never on the machine.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from podbay.core import scripts
from podbay.core.devcontainer.plan import LABEL_FINGERPRINT
from podbay.core.devcontainer.values import printable
from podbay.core.errors import PodbayError, ProviderError
from podbay.core.host import HostSession
from podbay.core.model import LABEL_HOME, LABEL_WORKSPACE, MachineRecord, SshAddress, Workspace
from podbay.core.provider import Confirm, MachineJob, MachineState, Provider, ProviderOptions
from podbay.core.ssh import machine as ssh_machine
from podbay.providers.docker_local import container_state

# [user@]host: a host name, an address, or a Host of ~/.ssh/config; never an option ("-...").
HOST = re.compile(r"([A-Za-z0-9_][A-Za-z0-9._-]{0,63}@)?[A-Za-z0-9_\[][A-Za-z0-9._:\[\]-]{0,252}")
HOST_KEY = re.compile(r"(ssh-[a-z0-9-]+|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+={0,2}")
# The host key asked for first, as OpenSSH's client prefers them (asyncssh's default is RSA).
HOST_KEY_ALGORITHMS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
]
WORKDIR = "podbay-workspaces"  # under the login's home, unless `workdir` says otherwise
# In the workdir, made by podbay: a folder without it is not podbay's to fill or empty.
MARKER = ".podbay-workspaces"
POLL_TIMEOUT = 5.0  # a poll's login; its `docker ps`: twice that
POLL_QUIET = 30.0  # after a failed poll, the machine is not asked again for this long


class SshOptions(ProviderOptions):
    GROUPS: ClassVar[tuple[str, ...]] = ("Connection",)

    host: str = Field(
        json_schema_extra={"group": "Account"},
        description="The machine: [user@]host, or a Host of your ~/.ssh/config",
    )
    port: int | None = Field(
        json_schema_extra={"group": "Connection"},
        default=None,
        ge=1,
        le=65535,
        description="SSH port; empty: your ~/.ssh/config's, else 22",
    )
    identity_file: str | None = Field(
        json_schema_extra={"group": "Connection"},
        default=None,
        description="Private key to log in with; empty: your agent and ~/.ssh/config's keys",
    )
    workdir: str | None = Field(
        json_schema_extra={"group": "Connection"},
        default=None,
        description=f"Folder for the workspaces on the machine; empty: ~/{WORKDIR}",
    )
    host_key: str | None = Field(
        json_schema_extra={"group": "Connection"},
        default=None,
        description="The machine's SSH host key, pinned at `provider add` once you confirm it",
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not HOST.fullmatch(value):
            raise ValueError("write the machine as [user@]host, e.g. me@build-box")
        return value

    @field_validator("host_key")
    @classmethod
    def _host_key(cls, value: str | None) -> str | None:
        if not value:
            return None
        import asyncssh

        try:
            if not HOST_KEY.fullmatch(value.strip()):
                raise ValueError(value)
            asyncssh.import_public_key(value.strip())
        except (ValueError, asyncssh.KeyImportError):
            raise ValueError(
                "not a host key: one line of the machine's /etc/ssh/ssh_host_*_key.pub, "
                "like ssh-ed25519 AAAAC3Nza..."
            ) from None
        return value.strip()

    @field_validator("workdir", "identity_file")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value and (any(ord(c) < 32 or ord(c) == 127 for c in value) or value.startswith("-")):
            raise ValueError("a path without control characters, not starting with '-'")
        return value or None


class SshProvider(Provider):
    type_name = "ssh"
    description = "workspaces on a machine you reach over SSH (its Docker), several per machine"
    Options = SshOptions
    options: SshOptions

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._conns: dict[str, Any] = {}  # workspace -> the connection ensure_machine made
        # Kept between polls (one login, not one a poll); one poll at a time; a failure is
        # repeated without asking until its time is up.
        self._poll_conn: Any = None
        self._poll_lock = asyncio.Lock()
        self._poll_failed: tuple[float, ProviderError] | None = None

    # where and how ----------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return self.options.host + (f":{self.options.port}" if self.options.port else "")

    def _ssh(self) -> SshAddress:
        user, _, host = self.options.host.rpartition("@")
        return SshAddress(
            host=host,
            port=self.options.port or 0,
            user=user,
            host_public_key=self.options.host_key or "",
            own_identity=True,
            identity_file=self.options.identity_file or "",
        )

    def _address(self) -> ssh_machine.MachineAddress:
        return ssh_machine.MachineAddress.from_record(self._ssh().model_dump(), None)

    async def _connect(self, timeout: float = 10.0) -> Any:
        identity = self.options.identity_file
        if identity and not Path(identity).expanduser().is_file():
            raise ProviderError(
                f"provider {self.name}: the identity_file {printable(identity)} is not here",
                "give the private key's path (-o identity_file=PATH), or none: your agent's "
                "and ~/.ssh/config's keys are used",
            )
        if not self.options.host_key:
            raise ProviderError(
                f"provider {self.name} has no pinned host key for {self._where}",
                f"add it again to confirm the key: podbay provider remove {self.name}; "
                f"podbay provider add ssh -o host={self.options.host}",
            )
        try:
            return await ssh_machine.connect(self._address(), timeout=timeout)
        except ssh_machine.MachineUnreachable as exc:
            if exc.host_key_refused:
                hint = (
                    "if the machine was reinstalled, check its new key and pin it: podbay "
                    f"provider set {self.name} host_key='TYPE KEY' (the machine's "
                    "/etc/ssh/ssh_host_*_key.pub)"
                )
            else:
                hint = f"check that `{self._ssh_command()}` works here"
            raise ProviderError(f"provider {self.name}: {exc.message}", hint) from None

    def _ssh_command(self) -> str:
        """The OpenSSH command that logs in as podbay does, for hints."""
        import shlex

        parts = ["ssh"]
        if self.options.port:
            parts += ["-p", str(self.options.port)]
        if self.options.identity_file:
            parts += ["-i", self.options.identity_file]
        return shlex.join([*parts, self.options.host])

    # provider add: the host key and the workdir ----------------------------------------------

    async def prepare(self, confirm: Confirm | None, install_id: str) -> dict[str, Any]:
        """The options to store: the host key pinned (confirmed), the workdir made absolute
        (default: ~/podbay-workspaces/ID, one folder per podbay home) and claimed for this
        podbay home."""
        options = dict(self.config.options)
        if not self.options.host_key:
            options["host_key"] = self.options.host_key = await self._learn_host_key(confirm)
        conn = await self._connect()
        try:
            if await self._offer_docker(conn, confirm):
                conn.close()
                conn = await self._connect()  # a new login: in the docker group now
            workdir = self.options.workdir or f"~/{WORKDIR}/{install_id[:12]}"
            if not workdir.startswith("/"):
                home = str((await conn.run('printf %s "$HOME"', check=False)).stdout or "")
                if not home.startswith("/"):
                    raise ProviderError(
                        f"cannot tell the home folder of your login on {self._where}",
                        "give an absolute folder: -o workdir=/PATH",
                    )
                rest = workdir.removeprefix("~").lstrip("/")
                workdir = f"{home.rstrip('/')}/{rest}"
            options["workdir"] = await _claim(conn, workdir, self._where, install_id)
        finally:
            conn.close()
        return options

    async def _offer_docker(self, conn: Any, confirm: Confirm | None) -> bool:
        """No Docker there, or none for this login, and the login has sudo without a
        password: on the user's yes, install it (or add the login to the docker group). True
        when something was done. Otherwise nothing: `check` says what is wrong."""
        import shlex

        done = await conn.run("docker version --format '{{.Server.Version}}'", check=False)
        missing = done.exit_status == 127
        denied = "permission denied" in str(done.stderr or "").lower()
        if confirm is None or not (missing or denied):
            return False
        facts = await conn.run(
            "id -un; sudo -n true 2>/dev/null && echo @sudo; command -v apt-get || echo @none",
            check=False,
        )
        lines = str(facts.stdout or "").split()
        if len(lines) < 2 or "@sudo" not in lines or (missing and "@none" in lines):
            return False
        user = lines[0]
        if not re.fullmatch(r"[A-Za-z0-9._][A-Za-z0-9._-]*\$?", user):
            return False  # (a login name podbay would not show or pass on as it is)
        if missing:
            title = f"there is no Docker on {self._where}; podbay can install it with sudo"
            steps = [
                "runs there: sudo apt-get install docker.io (Debian, Ubuntu)",
                f"adds {user} to the docker group (sudo usermod -aG docker {user})",
                "starts Docker where systemd runs",
            ]
            script = scripts.command("install-docker.sh")
        else:
            title = f"your login on {self._where} may not use Docker; podbay can fix it with sudo"
            steps = [f"runs there: sudo usermod -aG docker {user}"]
            script = 'usermod -aG docker "$1" && echo @installed'
        if not await confirm(title, steps):
            return False
        ran = await conn.run(
            f"sudo -n sh -c {shlex.quote(script)} sh {shlex.quote(user)}", check=False
        )
        said = f"{ran.stdout or ''}{ran.stderr or ''}".strip().splitlines()
        if ran.exit_status != 0 or "@installed" not in said:
            last = printable(said[-1], 200) if said else f"exit code {ran.exit_status}"
            raise ProviderError(
                f"setting Docker up on {self._where} failed: {last}",
                f"do it there yourself ({steps[0].removeprefix('runs there: ')}), then add the "
                "provider again",
            )
        return True

    async def _learn_host_key(self, confirm: Confirm | None) -> str:
        import asyncssh

        address = self._address()
        login = ssh_machine.own_login(address)
        try:
            key = await asyncio.wait_for(
                asyncssh.get_server_host_key(
                    address.host,
                    address.port or (),
                    config=login["config"],
                    server_host_key_algs=HOST_KEY_ALGORITHMS,
                ),
                20,
            )
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            raise ProviderError(
                f"cannot reach SSH at {self._where}: {ssh_machine.why(exc)}",
                f"check the address and the port: {self._ssh_command()}",
            ) from None
        if key is None:
            raise ProviderError(f"{self._where} showed no host key", "is it an SSH server?")
        line = key.export_public_key("openssh").decode().split()
        pinned = f"{line[0]} {line[1]}"
        shown = f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"
        if any(_known_to_user(h, p, key) for h, p in _names_of(self.options.host, address.port)):
            return pinned
        title = f"the SSH host key of {self._where} is {shown}; it is not in your known_hosts"
        check = "compare it with the machine's own: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub"
        if confirm is None or not await confirm(
            title, [check, "podbay keeps it and refuses others"]
        ):
            raise ProviderError(
                f"the host key of {self._where} is not confirmed: {shown}",
                f"{check}; then add the provider again and say yes, or give it: -o "
                f"host_key='{pinned}'",
            )
        return pinned

    async def check(self) -> str:
        """Docker answers there, through the socket podbay forwards over SSH (what `up` uses:
        the CLI answering is not enough)."""
        conn = await self._connect()
        try:
            version = await _docker_version(conn, self._where)
        except BaseException:
            conn.close()
            raise
        host = await ssh_machine.SshHost.open(conn, address=self._address())
        try:
            await asyncio.to_thread(host.docker.ping)
        except PodbayError as exc:
            raise ProviderError(
                f"Docker on {self._where} answers its CLI but not through SSH: {exc.message}",
                "podbay forwards /var/run/docker.sock over SSH: sshd there must allow it "
                "(AllowStreamLocalForwarding yes); rootless Docker is not supported yet",
            ) from None
        finally:
            await host.close()
        return f"Docker {version} on {self._where}"

    # workspaces ------------------------------------------------------------------------------

    def folder_for(self, workspace: str) -> str | None:
        # (absolute once added: prepare resolved it; ensure_machine refuses anything else)
        return f"{(self.options.workdir or WORKDIR).rstrip('/')}/{workspace}"

    async def ensure_machine(self, job: MachineJob) -> None:
        """Log in, make sure Docker answers and the workdir is this podbay's, and record
        where the machine is for attach."""
        workdir = self.options.workdir or ""
        if not workdir.startswith("/") or not job.workspace.folder.startswith(workdir):
            raise ProviderError(
                f"workspace {job.workspace.name}'s folder {job.workspace.folder} is not in "
                f"provider {self.name}'s workdir on the machine ({workdir or 'none'})",
                f"set the workdir back (podbay provider set {self.name} workdir=...), or "
                f"delete the workspace and up again",
            )
        conn = await self._connect()
        try:
            await _docker_version(conn, self._where)
            await _claim(conn, workdir, self._where, job.install_id)
        except BaseException:
            conn.close()
            raise
        job.workspace.machine = MachineRecord(ssh=self._ssh(), extra={"ssh_provider": self.name})
        job.save()
        self._conns[job.workspace.name] = conn

    async def open_host(self, job: MachineJob) -> HostSession:
        conn = self._conns.pop(job.workspace.name, None) or await self._connect()
        return await ssh_machine.SshHost.open(conn, address=self._address())

    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, MachineState]:
        """The machine's containers of this podbay home, by workspace: one `docker ps` over a
        connection kept for the next poll. A machine that does not answer is asked again
        only after POLL_QUIET seconds (its error is repeated meanwhile): a TUI does not wait
        on it at every poll."""
        if not workspaces:
            return {}
        async with self._poll_lock:
            if self._poll_failed is not None and time.monotonic() < self._poll_failed[0]:
                raise self._poll_failed[1]
            try:
                listed = await self._list_containers(install_id)
            except ProviderError as exc:
                self._poll_failed = (time.monotonic() + POLL_QUIET, exc)
                raise
            self._poll_failed = None
        states: dict[str, MachineState] = {}
        for line in sorted(listed.splitlines(), key=lambda ln: ln.split("\t")[4:5]):
            fields = line.split("\t")
            if len(fields) != 7:
                continue
            _, state, status, image, _, workspace, fingerprint = fields
            item = {"State": state, "Status": status, "Image": image}
            states[workspace] = container_state(item, {LABEL_FINGERPRINT: fingerprint})
        return states

    async def _list_containers(self, install_id: str) -> str:
        """`docker ps` of this home's containers, one tab-separated line each (its id, state,
        status, image, creation, workspace label, fingerprint label), oldest first."""
        import shlex

        import asyncssh

        template = "\t".join(
            ["{{.ID}}", "{{.State}}", "{{.Status}}", "{{.Image}}", "{{.CreatedAt}}",
             f'{{{{.Label "{LABEL_WORKSPACE}"}}}}', f'{{{{.Label "{LABEL_FINGERPRINT}"}}}}']
        )  # fmt: skip
        argv = ["docker", "ps", "-a", "--no-trunc", "--filter", f"label={LABEL_HOME}={install_id}",
                "--format", template]  # fmt: skip
        for attempt in (1, 2):
            if self._poll_conn is None:
                self._poll_conn = await self._connect(timeout=POLL_TIMEOUT)
            try:
                done = await asyncio.wait_for(
                    self._poll_conn.run(shlex.join(argv), check=False), POLL_TIMEOUT * 2
                )
            except (OSError, TimeoutError, asyncssh.Error) as exc:  # (a dropped connection)
                stale, self._poll_conn = self._poll_conn, None
                stale.close()
                if attempt == 2:
                    raise ProviderError(
                        f"provider {self.name}: {self._where} stopped answering ({exc})",
                        f"check that `{self._ssh_command()}` works here",
                    ) from None
                continue
            if done.exit_status != 0:
                await _docker_version(self._poll_conn, self._where)  # (says what is wrong)
            return str(done.stdout or "")
        return ""


async def _docker_version(conn: Any, where: str) -> str:
    """The Docker engine's version on the machine, or why podbay cannot use it."""
    done = await conn.run("docker version --format '{{.Server.Version}}'", check=False)
    if done.exit_status == 0 and str(done.stdout).strip():
        return str(done.stdout).strip()
    said = str(done.stderr or "").strip()
    if done.exit_status == 127:
        raise ProviderError(
            f"there is no Docker on {where}",
            "install it there (Debian, Ubuntu: sudo apt install docker.io), then try again; "
            "podbay provider add offers to when your login there has sudo without a password",
        )
    if "permission denied" in said.lower():
        raise ProviderError(
            f"your login on {where} may not use Docker",
            "add it to the docker group there (sudo usermod -aG docker $USER), log in again",
        )
    last = printable(said.splitlines()[-1]) if said else f"exit code {done.exit_status}"
    raise ProviderError(
        f"Docker on {where} does not answer: {last}",
        "start it there (sudo systemctl start docker), then try again",
    )


async def _claim(conn: Any, workdir: str, where: str, install_id: str) -> str:
    """Make `workdir` this podbay home's on the machine (its install id in the marker);
    refused when it holds anything podbay did not put there, or is another podbay home's:
    delete empties podbay's folders in it. (`sh -c`: whatever the login shell is.)"""
    import shlex

    folder = shlex.quote(workdir)
    marker = shlex.quote(f"{workdir}/{MARKER}")
    mine = shlex.quote(install_id)
    script = (
        f'if [ -e {marker} ]; then [ "$(cat {marker})" = {mine} ] && exit 0; exit 4; fi; '
        f'if [ -d {folder} ] && [ -n "$(ls -A {folder})" ]; then exit 3; fi; '
        f"mkdir -p {folder} && printf %s {mine} > {marker}"
    )
    done = await conn.run(shlex.join(["sh", "-c", script]), check=False)
    if done.exit_status == 3:
        raise ProviderError(
            f"the folder {printable(workdir)} on {where} holds files podbay did not put there",
            "choose a new or empty folder: -o workdir=PATH",
        )
    if done.exit_status == 4:
        raise ProviderError(
            f"the folder {printable(workdir)} on {where} belongs to another podbay (another "
            "computer or PODBAY_HOME)",
            "give each its own folder: -o workdir=PATH",
        )
    if done.exit_status != 0:
        said = printable(str(done.stderr or "").strip()[-200:])
        raise ProviderError(
            f"cannot make the folder {printable(workdir)} on {where}: {said}",
            "choose a folder your login may write: -o workdir=PATH",
        )
    return workdir


def _names_of(host: str, port: int) -> list[tuple[str, int]]:
    """Where known_hosts may list the machine: as written, and as OpenSSH resolves it through
    ~/.ssh/config (`ssh -G`: a Host alias's HostName and Port)."""
    import subprocess

    user_less = host.rpartition("@")[2]
    names = [(user_less, port or 22)]
    # (the config asyncssh logs in with: OpenSSH would read the passwd entry's home instead)
    config = Path.home() / ".ssh" / "config"
    given = ["-F", str(config)] if config.is_file() else []
    try:
        shown = subprocess.run(
            ["ssh", "-G", *given, *(["-p", str(port)] if port else []), "--", host],
            capture_output=True, text=True, timeout=10,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return names
    found = dict(line.split(" ", 1) for line in shown.splitlines() if " " in line)
    if found.get("hostname"):
        names.append((found["hostname"], int(found.get("port") or 22)))
    return names


def _known_to_user(host: str, port: int, key: Any) -> bool:
    """Whether the user's ~/.ssh/known_hosts already trusts `key` for the host."""
    import asyncssh

    path = Path.home() / ".ssh" / "known_hosts"
    try:
        trusted = asyncssh.read_known_hosts(str(path)).match(host, "", port)[0]
    except (OSError, ValueError, asyncssh.Error):
        return False
    return any(known == key for known in trusted)
