"""The provider contract: what a backend (the local Docker engine, an EC2 VM per workspace, next
an SSH machine) is to the engine and the fronts. One class, typed; core never imports a provider.

A provider prepares the machine a workspace runs on and opens a HostSession there (commands,
files, its Docker engine); the engine does the rest. What only some providers can do is a typed,
class- or instance-level capability that the fronts test for (`leftovers`, `iam_policy()`), never
a type name.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from podbay.core.errors import PodbayError, ProviderError
from podbay.core.host import HostSession
from podbay.core.model import MachineInfo, ProviderConfig, Status, Workspace
from podbay.core.reporter import Reporter
from podbay.core.ssh.keys import WorkspaceKeys

# Asks the user (title, the points to weigh) and answers whether they said yes.
Confirm = Callable[[str, list[str]], Awaitable[bool]]


@dataclass
class MachineJob:
    """One operation on a workspace's machine, as the engine hands it to a provider."""

    workspace: Workspace
    keys: WorkspaceKeys
    install_id: str
    report: Reporter
    save: Callable[[], None]  # persist workspace.machine now (crash safety)


class ProviderOptions(BaseModel):
    """Base for a provider's options; the TUI wizard generates its form from the fields."""

    model_config = ConfigDict(extra="forbid")
    # The setup's collapsible groups in this order (a field's json_schema_extra "group"
    # names its group; groups not listed follow in the order of their fields).
    GROUPS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class MachineState:
    """What a provider's poll found for one workspace (absent from the answer: gone)."""

    status: Status  # RUNNING, STOPPED or BUSY (starting, stopping)
    state: str  # the provider's own word: docker's running/exited, EC2's pending/stopped, ...
    detail: str = ""  # one line, e.g. "Up 3 minutes" or "instance i-0abc running (spot)"
    image: str | None = None
    fingerprint: str | None = None  # the config fingerprint its container was made with
    machine: MachineInfo | None = None  # a dedicated machine: type, state, estimated cost


@dataclass(frozen=True)
class Leftover:
    """A resource a provider made that no workspace owns any more."""

    kind: str
    id: str
    workspace: str
    home: str
    state: str


class Leftovers(Protocol):
    """A provider that makes resources beyond the workspace's container can find and remove
    those left behind (`podbay provider gc`)."""

    where: str  # where it looks, for "Nothing left behind in WHERE" (e.g. the region)

    async def find(self, install_id: str, known: set[str], any_home: bool) -> list[Leftover]: ...

    async def remove(self, items: list[Leftover]) -> None: ...


@dataclass(frozen=True)
class CheckResult:
    """One row of a provider's deep check: what was asked, and whether `up` would pass it."""

    name: str
    ok: bool | None  # None: not checked, or a note rather than a failure
    detail: str
    fix: str = ""


class DeepCheck(Protocol):
    """A provider that can ask its cloud, without creating anything, whether `up` would work
    (`podbay provider check NAME --deep`)."""

    async def run(self) -> list[CheckResult]: ...


class Provider(abc.ABC):
    """A configured backend. Subclasses set `type_name` and `Options` and implement
    `open_host`, `poll` and `check`; a provider of one machine per workspace also sets
    `dedicated_machine` and implements the machine's lifecycle."""

    type_name: ClassVar[str]
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions
    # True: one machine per workspace; stop and delete act on the machine, and poll answers
    # from the machines, not from their containers.
    dedicated_machine: ClassVar[bool] = False
    description: ClassVar[str] = ""  # one line, for the setup's choice of type
    # Set by a provider that can list what it left behind (`provider gc`).
    leftovers: Leftovers | None = None
    # Set by a provider that can check an account in depth (`provider check NAME --deep`).
    deep_check: DeepCheck | None = None
    # The kinds of secret reference (core/secrets_store.py) read_secret reads: "ssm:", ...
    secret_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.name = config.name
        self.options: Any = self.validate_options(config.options, config.name)

    @classmethod
    def validate_options(cls, options: dict[str, Any], name: str = "") -> ProviderOptions:
        try:
            return cls.Options.model_validate(options)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "options"
            fields = ", ".join(cls.Options.model_fields) or "none"
            raise ProviderError(
                f"provider {name or cls.type_name}: option {field}: {first['msg']}",
                f"options of a {cls.type_name} provider: {fields}",
            ) from None

    @classmethod
    def iam_policy(
        cls,
        options: Mapping[str, Any],
        references: Sequence[str] = (),
        machine: bool = False,
        prebuilds: bool = False,
    ) -> dict[str, Any] | None:
        """The least-privilege cloud policy this type needs with these (raw) options and the
        secret references set with the provider, for `provider policy`; with `machine`, the
        policy of its machines' own role instead; with `prebuilds`, what pushing prebuilds to
        its registry needs too. None: the type needs none."""
        return None

    async def prepare(self, confirm: Confirm | None, install_id: str) -> dict[str, Any]:
        """The options to store when the provider is added or changed: what it learns then
        filled in (an SSH machine's host key, once `confirm` says yes; its folder for this
        podbay home, `install_id`'s)."""
        return dict(self.config.options)

    @classmethod
    async def suggestions(cls, field: str) -> list[str]:
        """Values to offer for an option in the setup form (e.g. regions listed live)."""
        return []

    async def choices(self, field: str) -> list[tuple[str, str]]:
        """Values for an option that depend on the options given so far, each with a line
        saying what it is (an instance type and its price, a VPC and its range), listed live;
        [] when there are none or they cannot be listed (no credentials yet)."""
        return []

    def folder_for(self, workspace: str) -> str | None:
        """Where a new workspace's files live on its machine; None: this computer's rules."""
        return None

    async def ensure_machine(self, job: MachineJob) -> None:
        """Create or start the workspace's machine (nothing to do for a shared engine)."""
        return None

    async def stop_machine(self, job: MachineJob) -> None:
        return None

    async def delete_machine(self, job: MachineJob) -> None:
        return None

    def reads_secrets_on(self, workspace: Workspace) -> bool:
        """Whether `workspace`'s secret references are read on its machine (read_secrets_on),
        not with the credentials here."""
        return False

    async def read_secrets_on(
        self, references: list[str], job: MachineJob
    ) -> dict[str, str | PodbayError]:
        """The references' values read on the job's machine, in one go, each or why not;
        raises when the machine cannot be asked at all."""
        raise PodbayError(f"provider {self.name} reads no secrets on a machine", "")

    async def read_secret(self, reference: str) -> str:
        """A secret reference's value, read with this provider's credentials (never kept)."""
        raise PodbayError(
            f"provider {self.name} cannot read the secret reference {reference}",
            "read it with an AWS provider: podbay secret set NAME --ref REF --provider AWS_NAME",
        )

    async def registry_login(self, registry: str) -> tuple[str, str] | None:
        """Credentials this provider has for a container registry (user, secret), or None."""
        return None

    # How many workspaces of a room (core/room.py) are brought up or removed at a time.
    room_parallel: ClassVar[int] = 6

    async def ensure_repository(self, repository: str, create: bool) -> bool:
        """Whether `repository` (REGISTRY/NAME) is in this provider's own registry (an ECR
        repository of its account), checked to exist, or made when `create` (scan on push,
        a lifecycle policy); False when the registry is not the provider's."""
        return False

    @abc.abstractmethod
    async def open_host(self, job: MachineJob) -> HostSession:
        """A session on the machine the workspace runs on."""

    @abc.abstractmethod
    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, MachineState]:
        """Live state by workspace name (absent: its container or machine is gone). One API
        call per provider, whatever the number of workspaces."""

    @abc.abstractmethod
    async def check(self) -> str:
        """A connection test for `provider add` and the wizard: a one-line success message."""
