"""The data podbay keeps and passes around: providers, workspaces, sources, events, status."""

from __future__ import annotations

import enum
import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ProviderConfig(BaseModel):
    """A configured backend: a name, a type, and options the provider type validates."""

    name: str
    type: str
    options: dict[str, Any] = {}
    created_at: float = Field(default_factory=time.time)


# Labels on everything podbay makes in Docker: which podbay home, which workspace.
LABEL_HOME = "dev.podbay.home"
LABEL_WORKSPACE = "dev.podbay.workspace"
# What `podbay doctor --rebuild-state` needs to make the record again (credentials redacted).
LABEL_RECORD = "dev.podbay.record"


SourceKind = Literal["folder", "git", "image", "template"]


class Source(BaseModel):
    """Where a workspace's files come from."""

    kind: SourceKind
    value: str  # folder path, git URL (without @ref), image reference, template name
    ref: str | None = None  # git branch or commit

    def display(self) -> str:
        """How the source is shown (list, status, logs, --json): credentials redacted."""
        if self.kind == "git":
            return redact_url(self.value) + (f"@{self.ref}" if self.ref else "")
        if self.kind == "template":
            return f"template:{self.value}"
        if self.kind == "image":
            return f"image:{self.value}"
        return self.value


def redact_url(url: str) -> str:
    """`https://alice:s3cret@host/x.git` -> `https://alice:***@host/x.git`.

    A password is always hidden. On http(s) a user name alone is hidden too, since tokens are
    commonly passed that way; `ssh://git@host` keeps its user.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    if colon:
        userinfo = f"{user}:***"
    elif scheme.lower() in ("http", "https"):
        userinfo = "***"
    return f"{scheme}://{userinfo}@{host}{slash}{path}"


# creating: an `up` (the first or a later one) is under way, or was interrupted (Incomplete);
# ready: the last `up` finished; failed: it stopped on an error (Error, with the message).
Phase = Literal["creating", "ready", "failed"]


class SshAddress(BaseModel):
    """Where a workspace's own machine answers SSH, and the host key it must show."""

    host: str
    port: int = 22  # 0: as the user's ~/.ssh/config says, else 22 (own_identity)
    user: str  # "": as the user's ~/.ssh/config says, else their login name (own_identity)
    host_public_key: str  # the key podbay made for the machine (or pinned): the only one taken
    # A machine of the user's (the ssh provider): logged in to as they log in (their agent,
    # ~/.ssh/config, `identity_file`), not with a key of podbay's.
    own_identity: bool = False
    identity_file: str = ""


class MachineRecord(BaseModel):
    """A dedicated machine's record: the SSH address attach reads, plus the provider's own
    private fields (EC2: instance id, security group, client token, ...)."""

    ssh: SshAddress | None = None
    extra: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, data: Any) -> Any:
        """Records written before 0.2 kept one flat dict; read them as they are meant."""
        if not isinstance(data, dict) or not data or {"ssh", "extra"} & data.keys():
            return data
        flat = dict(data)
        keys = ("host", "port", "user", "host_public_key")
        ssh = {k: flat.pop(k) for k in keys if k in flat}
        return {"ssh": ssh if "host" in ssh else None, "extra": flat}

    def __bool__(self) -> bool:
        """True once the provider has written anything: a machine was (maybe) asked for."""
        return self.ssh is not None or bool(self.extra)

    @property
    def own(self) -> bool:
        """A machine of the workspace's own (a VM podbay asked for), not one it shares with
        others (the ssh provider's: the user's machine, which podbay never made)."""
        return bool(self) and not (self.ssh is not None and self.ssh.own_identity)


class Workspace(BaseModel):
    """A named environment: source, provider, config, and what `up` last achieved."""

    name: str
    provider: str
    source: Source
    folder: str  # the source folder on the machine; bind-mounted into the container
    owned_folder: bool  # podbay created the folder (clone, template copy): delete removes it
    # The folder's name inside the container, /workspaces/FOLDER_NAME (the reference CLI's
    # rule): its own name as it is, or a repository's. None: a workspace made before podbay kept
    # it, mounted at /workspaces/NAME until a rebuild.
    folder_name: str | None = None
    # The folder's path below the git root mounted in its place ("" when the folder itself is
    # mounted): a subfolder of a repository gets the repository, as with the reference CLI.
    folder_rel: str = ""
    config_path: str | None = None  # None: no file, the config is {"image": image}
    config_arg: str | None = None  # --config as the user gave it
    image: str | None = None  # --image, or the image of an image source
    container_name: str
    phase: Phase = "creating"
    error: str | None = None
    container_id: str | None = None
    remote_user: str | None = None
    workspace_folder: str | None = None
    remote_env: dict[str, str] = {}
    probed_env: dict[str, str] = {}  # what userEnvProbe found; kept for one container start
    probed_for: str | None = None  # "container id@StartedAt@probe kind" it was found for
    forward_ports: list[int | str] = []  # devcontainer.json forwardPorts
    vscode_extensions: list[str] = []  # customizations.vscode.extensions
    attach_hooks: list[dict[str, Any]] = []  # postAttachCommand contributions (origin, command)
    hooks_container: str | None = None  # container the once-hooks below ran in
    identity_container: str | None = None  # container the user's git identity was copied into
    dotfiles_container: str | None = None  # container the user's dotfiles were installed in
    # "protocol://host" of the source's HTTPS remotes when the workspace was made (before a
    # container could change its .git/config): git in sessions gets credentials for these.
    git_hosts: list[str] = []
    # When a copy on a machine of a folder here was last the same as the folder (this
    # computer's clock; core/sync.py).
    synced_at: float | None = None
    prebuild: str | None = None  # up --prebuild: a repository of prebuilds (core/prebuild.py)
    room: str | None = None  # up --count N --prefix ROOM made it, one of a room (core/room.py)
    hooks_done: list[str] = []
    usable: bool = False  # the waitFor hook is done in this container: attaching works
    post_start_at: str | None = None  # container StartedAt that postStartCommand last ran for
    ssh_container: str | None = None  # container whose sshd setup is done
    ssh_ready: bool = False
    ssh_note: str = ""  # why SSH is unavailable, or what setting it up did
    shell: str = "bash"  # the interactive shell to suggest: "sh" in images without bash
    # What a later `up` checks to answer at once (core/quick_up.py); {} when it cannot.
    quick: dict[str, Any] = {}
    # A dedicated machine's record (its SSH address, the provider's own fields). Empty on a
    # shared engine.
    machine: MachineRecord = Field(default_factory=MachineRecord)
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)


def record_label(ws: Workspace) -> str:
    """The LABEL_RECORD value for a workspace's containers."""
    source = {"kind": ws.source.kind, "value": ws.source.value, "ref": ws.source.ref}
    if ws.source.kind == "git":
        source["value"] = redact_url(ws.source.value)
    data: dict[str, Any] = {
        "source": source,
        "config": ws.config_arg,
        "image": ws.image,
        "provider": ws.provider,
    }
    if ws.folder_name is not None:
        data["folder"] = [ws.folder_name, ws.folder_rel]
    if ws.room:
        data["room"] = ws.room
    return json.dumps(data, separators=(",", ":"))


class Status(enum.StrEnum):
    RUNNING = "Running"
    STOPPED = "Stopped"
    NOT_FOUND = "NotFound"
    BUSY = "Busy"
    INCOMPLETE = "Incomplete"  # an `up` was interrupted or cancelled: the next `up` finishes it
    ERROR = "Error"


class MachineInfo(BaseModel):
    """A workspace's own machine as its provider reports it: what it is and what it costs."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    state: str  # the provider's word: pending, running, stopped, ...
    region: str = ""
    hourly: float | None = None  # estimated $/h while running
    monthly: float | None = None  # estimated $/month if always on
    stopped_monthly: float | None = None  # estimated $/month while stopped (the disk)
    price_note: str | None = None  # why no price is known


class WorkspaceStatus(BaseModel):
    workspace: Workspace
    status: Status
    detail: str = ""  # why Error/Busy/NotFound/Incomplete, one line, in no front's words
    fix: Literal["up"] | None = None  # the operation that repairs it (each front says how)
    container_state: str | None = None  # docker's own word: running, exited, created, ...
    image: str | None = None
    machine: MachineInfo | None = None  # a dedicated machine: id, type, state, cost
    changed: list[str] = []  # parts of the config changed since the container was made


EventKind = Literal["step", "log", "progress", "warning", "done"]


class Event(BaseModel):
    """Something a long operation reports: a step starting, a log line, progress, a warning."""

    kind: EventKind
    message: str
    workspace: str | None = None
    step: str | None = None
    current: int | None = None
    total: int | None = None
    time: float = Field(default_factory=time.time)

    def line(self) -> str:
        """How the event reads in a log: `==> step`, `warning: ...`, or the output line itself."""
        prefix = {"step": "==> ", "done": "==> ", "warning": "warning: "}.get(self.kind, "")
        return prefix + self.message


def age_text(created_at: float, now: float | None = None) -> str:
    """A compact age like 5s, 3m, 2h, 4d."""
    seconds = max(0, int((time.time() if now is None else now) - created_at))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cost_cell(machine: MachineInfo | None) -> str:
    """The $/h column: the running rate, "disk" while stopped (storage only), "?" if unknown."""
    if machine is None:
        return "-"
    if machine.state == "stopped":
        return "disk"
    if machine.hourly is None:
        return "?"
    return f"{machine.hourly:.2f}"


def machine_text(machine: MachineInfo) -> str:
    """One line on a workspace's own machine: type, state, estimated cost."""
    head = f"{machine.type} {machine.state}"
    if machine.hourly is None or machine.monthly is None:
        return f"{head} ({machine.price_note or 'no price known'})"
    text = f"{head}, ~${machine.hourly:.4f}/h (~${machine.monthly:.2f}/month always on"
    if machine.stopped_monthly is not None:
        text += f"; stopped ~${machine.stopped_monthly:.2f}/month for the disk"
    return text + ")"
