"""Secrets for workspaces: `podbay secret set NAME`, for every workspace or one.

A value goes into the OS keyring when there is one (the `keyring` library), else into
`$PODBAY_HOME/secrets.json` (mode 0600). A reference (`ssm:/path/name`,
`secretsmanager:name`) stores no value: it is read when used, with the credentials of an AWS
provider, and never written to disk. Which secrets exist (names, where, references) is kept in
the store; values never are, nor in podbay's logs or `--json`.

Secrets reach the container as environment variables of lifecycle hooks, `podbay exec` and
`podbay ssh` sessions only: never in the container's own environment (`docker inspect`), a
file, or a process's arguments. A workspace's own secret wins over a global one of that name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from podbay.core.devcontainer.values import printable
from podbay.core.errors import PodbayError

if TYPE_CHECKING:
    from podbay.core.store import Store

SERVICE = "podbay"
INDEX = "secrets"  # the store's meta key: a JSON list of Secret
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
REFERENCE = re.compile(r"(ssm:/[A-Za-z0-9_.\-/]{1,1010}|secretsmanager:[A-Za-z0-9/_+=.@\-]{1,512})")
# Names the container's environment needs for itself; a secret never replaces them.
RESERVED = {
    "PATH", "HOME", "USER", "SHELL", "TERM", "HOSTNAME", "PWD", "OLDPWD", "LANG",
    # the shell's own, some read-only (export UID=... fails in bash)
    "UID", "EUID", "PPID", "SHELLOPTS", "BASHOPTS", "BASH_VERSINFO", "IFS", "ENV", "BASH_ENV",
    # read by the docker CLI a secret passes through (podbay exec)
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
    "no_proxy", "all_proxy",
}  # fmt: skip
RESERVED_PREFIXES = ("PODBAY_", "DOCKER_", "LD_", "SSH_", "GIT_")

# Each (provider name or "", reference) -> its value, or why it could not be read.
Answers = Mapping[tuple[str, str], "str | PodbayError"]
# Reads references, all at once (with an AWS provider's credentials, or on a workspace's VM).
ReadReferences = Callable[[list[tuple[str, str]]], Awaitable[Answers]]


class Settings(Protocol):
    """Where secrets are listed: the Store, or a read-only view of it (the attach fast path)."""

    @property
    def root(self) -> Path: ...

    def get_meta(self, key: str) -> str | None: ...


@dataclass
class Secret:
    """A secret as the store lists it (a dataclass, not a model: `podbay exec` and the ssh
    ProxyCommand read the list, and pydantic's import would cost them 50 ms)."""

    name: str
    where: Literal["keyring", "file", "reference"]
    workspace: str = ""  # "": every workspace
    reference: str = ""
    provider: str = ""  # the AWS provider whose credentials read the reference ("": default)

    @classmethod
    def parse(cls, item: object) -> Secret:
        """One entry of the store's list; ValueError when it is not one."""
        if not isinstance(item, dict) or item.get("where") not in ("keyring", "file", "reference"):
            raise ValueError(item)
        texts = {k: item.get(k, "") for k in ("name", "workspace", "reference", "provider")}
        if not texts["name"] or not all(isinstance(v, str) for v in texts.values()):
            raise ValueError(item)
        return cls(where=item["where"], **texts)

    @property
    def key(self) -> str:
        return f"{self.workspace or '*'}/{self.name}"

    def shown(self) -> dict[str, str | None]:
        """What list and --json say: never a value (workspace None: every workspace)."""
        data = {"name": self.name, "workspace": self.workspace or None, "where": self.where}
        if self.reference:
            data["reference"] = self.reference
        return data


def check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name in RESERVED or name.startswith(RESERVED_PREFIXES):
        raise PodbayError(
            f"secret name {printable(name)} is not usable as an environment variable",
            "use letters, digits and _ (not starting with a digit), not a name the shell, git, "
            "ssh or docker read (PATH, UID, GIT_*, DOCKER_*, ...), e.g. DATABASE_PASSWORD",
        )
    return name


def check_reference(text: str) -> str:
    if not REFERENCE.fullmatch(text):
        raise PodbayError(
            f"{printable(text)} is not a secret reference podbay reads",
            "write ssm:/PATH/NAME (Parameter Store) or secretsmanager:NAME (Secrets Manager)",
        )
    return text


def listed(store: Settings) -> list[Secret]:
    try:
        items = json.loads(store.get_meta(INDEX) or "[]")
        return [Secret.parse(item) for item in items]
    except (ValueError, TypeError):
        return []


def _save_index(store: Store, secrets: list[Secret]) -> None:
    ordered = sorted(secrets, key=lambda s: (s.workspace, s.name))
    store.set_meta(INDEX, json.dumps([dataclasses.asdict(s) for s in ordered]))


# A value's most, in bytes: several pass through one process's environment (Linux holds 128
# KiB in one variable, 2 MiB in all), and a secret that large belongs in a file.
MAX_VALUE = 32 * 1024


def set_value(store: Store, name: str, workspace: str, value: str) -> Secret:
    """Keep `value` (keyring, else the 0600 file) under `name`; returns the entry."""
    check_name(name)
    if not value:
        raise PodbayError(f"secret {name}: the value is empty", "give a value on stdin")
    if "\0" in value:
        raise PodbayError(f"secret {name}: the value holds a NUL byte", "an environment "
                          "variable cannot; keep it in a file")  # fmt: skip
    if len(value.encode()) > MAX_VALUE:
        raise PodbayError(
            f"secret {name}: the value is {len(value.encode()) // 1024} KiB, more than the "
            f"{MAX_VALUE // 1024} KiB a secret may be",
            "keep a value that large in a file, and its path or a key to it as the secret",
        )
    entry = Secret(name=name, workspace=workspace, where="keyring")
    if not _keyring_set(entry.key, value):
        entry.where = "file"
        _file_update(store.root, entry.key, value)
    else:
        _file_update(store.root, entry.key, None)  # (a copy an earlier set left there)
    _replace(store, entry)
    return entry


def set_reference(store: Store, name: str, workspace: str, reference: str, provider: str) -> Secret:
    check_name(name)
    entry = Secret(
        name=name,
        workspace=workspace,
        where="reference",
        reference=check_reference(reference),
        provider=provider,
    )
    _forget_value(store, entry)
    _replace(store, entry)
    return entry


def remove_workspace(store: Store, workspace: str) -> None:
    """Forget the secrets of a deleted workspace: a new one of that name starts without them."""
    own = [entry for entry in listed(store) if entry.workspace == workspace]
    for entry in own:
        _forget_value(store, entry)
    if own:
        _save_index(store, [s for s in listed(store) if s.workspace != workspace])


def remove(store: Store, name: str, workspace: str) -> Secret:
    for entry in listed(store):
        if entry.name == name and entry.workspace == workspace:
            _forget_value(store, entry)
            _save_index(store, [s for s in listed(store) if s.key != entry.key])
            return entry
    where = f" of workspace {workspace}" if workspace else ""
    raise PodbayError(f"no secret {printable(name)}{where}", "list them: podbay secret list")


def _replace(store: Store, entry: Secret) -> None:
    _save_index(store, [s for s in listed(store) if s.key != entry.key] + [entry])


def _forget_value(store: Store, entry: Secret) -> None:
    _file_update(store.root, entry.key, None)
    with contextlib.suppress(PodbayError):
        _keyring_delete(entry.key)


async def values_for(
    store: Settings,
    workspace: str,
    read: ReadReferences,
    problems: list[PodbayError] | None = None,
) -> dict[str, str]:
    """Every secret of `workspace` (its own over the global ones) as NAME -> value. One that
    cannot be read raises, or with `problems` is left out and added there. The references are
    read together, in one call of `read`."""
    chosen: dict[str, Secret] = {}
    for entry in listed(store):
        if entry.workspace in ("", workspace) and (entry.name not in chosen or entry.workspace):
            chosen[entry.name] = entry
    wanted = sorted({(e.provider, e.reference) for e in chosen.values() if e.where == "reference"})
    answers = await read(wanted) if wanted else {}
    values: dict[str, str] = {}
    for name, entry in sorted(chosen.items()):
        try:
            values[name] = _value(store, name, entry, answers)
        except PodbayError as exc:
            if problems is None:
                raise
            problems.append(exc)
    return values


def _value(store: Settings, name: str, entry: Secret, answers: Answers) -> str:
    if entry.where == "reference":
        found = answers.get((entry.provider, entry.reference))
        if isinstance(found, str):
            return found
        why = found or PodbayError(f"{entry.reference} was not read", "")
        raise PodbayError(f"secret {name}: {why.message}", why.hint)  # as the user knows it
    if entry.where == "keyring":
        stored = _keyring_get(entry.key)
        if stored is None:
            raise PodbayError(
                f"secret {name} is no longer in the keyring",
                f"set it again: podbay secret set {name}",
            )
        return stored
    stored = _file_read(store.root).get(entry.key)
    if stored is None:
        raise PodbayError(
            f"secret {name} is missing from {_file(store.root)}",
            f"set it again: podbay secret set {name}",
        )
    return stored


# The keyring ----------------------------------------------------------------------------------


def _keyring_call(what: str, call: Callable[[], object]) -> object:
    """A keyring call; False when there is no usable keyring here (the file is used)."""
    try:
        import keyring.errors
    except ImportError:
        return False
    try:
        return call()
    except keyring.errors.NoKeyringError:
        return False
    except keyring.errors.KeyringLocked:
        raise PodbayError(
            f"the keyring is locked ({what})",
            "unlock it (sign in to the desktop session, or unlock the login keyring), then "
            "run the command again",
        ) from None
    except Exception as exc:  # the keyring's own errors, and its D-Bus's
        raise PodbayError(
            f"the keyring refused to {what}: {printable(str(exc), 200)}",
            "check the keyring, or set PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring to "
            "keep secrets in podbay's own 0600 file",
        ) from None


def _usable() -> bool:
    """A keyring that keeps what it is given: not the fail or null backends (`keyring
    --disable`), nor a chainer with nothing in it (their priority is not above 0)."""
    try:
        import keyring
        from keyring.backends import chainer

        backend = keyring.get_keyring()
        if isinstance(backend, chainer.ChainerBackend):
            return bool(backend.backends)
        return float(backend.priority) > 0
    except Exception:  # (a broken backend is no keyring: the 0600 file is used)
        return False


def _keyring_set(key: str, value: str) -> bool:
    if not _usable():
        return False
    import keyring

    if _keyring_call("keep the secret", lambda: keyring.set_password(SERVICE, key, value)) is False:
        return False
    # Kept only if it reads back (a backend may take a value and drop it).
    return _keyring_get(key) == value


def _keyring_get(key: str) -> str | None:
    if not _usable():
        return None
    import keyring

    found = _keyring_call("read the secret", lambda: keyring.get_password(SERVICE, key))
    return found if isinstance(found, str) else None


def _keyring_delete(key: str) -> None:
    if not _usable():
        return
    import keyring
    import keyring.errors

    def delete() -> None:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(SERVICE, key)

    _keyring_call("remove the secret", delete)


# The 0600 file ----------------------------------------------------------------------------------


def _file(root: Path) -> Path:
    return root / "secrets.json"


def _file_read(root: Path) -> dict[str, str]:
    try:
        data = json.loads(_file(root).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise PodbayError(
            f"cannot read {_file(root)}: {exc}", "remove it and set the secrets again"
        ) from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _file_update(root: Path, key: str, value: str | None) -> None:
    data = _file_read(root)
    if value is None and key not in data:
        return
    if value is None:
        del data[key]
    else:
        data[key] = value
    temp = _file(root).with_name(f".secrets.{os.getpid()}.json")
    temp.unlink(missing_ok=True)  # (a leftover keeps its own mode: made anew, 0600)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temp, _file(root))
