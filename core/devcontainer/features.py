"""PURE: feature references, devcontainer-feature.json, option variables and install order.

A feature is a folder with `devcontainer-feature.json` and `install.sh`, referenced from
devcontainer.json as a local path (`./name`), a tarball URL, or an OCI reference
(`registry/namespace/name[:tag|@sha256:digest]`). Fetching lives in core/features_fetch.py.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from podbay.core.devcontainer.jsonc import Document
from podbay.core.devcontainer.values import has_control
from podbay.core.errors import ConfigError


class FeatureRef(BaseModel):
    """Where a feature comes from, parsed from the key it has in devcontainer.json."""

    written: str  # the key as the user wrote it
    kind: Literal["local", "tarball", "oci"]
    resource: str  # local path, URL, or registry/path without tag or digest
    tag: str = ""  # OCI tag ("latest" when none was written)
    digest: str = ""  # OCI "sha256:..." when pinned

    @property
    def registry(self) -> str:
        return self.resource.split("/", 1)[0]

    @property
    def path(self) -> str:
        return self.resource.split("/", 1)[1]

    @property
    def reference(self) -> str:
        """The manifest to ask for: the digest when pinned, else the tag."""
        return self.digest or self.tag

    @property
    def id(self) -> str:
        if self.kind == "tarball":
            name = self.resource.rsplit("/", 1)[-1]
            return re.sub(r"^devcontainer-feature-|\.tgz$", "", name)
        return PurePosixPath(self.resource).name


# Docker's reference grammar (distribution/reference): a registry host with an optional port,
# path components of lower-case alphanumerics joined by separators, a tag of word characters.
_OCI_HOST = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d+)?"
_OCI_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_OCI_REPOSITORY = re.compile(rf"{_OCI_HOST}(?:/{_OCI_COMPONENT})+")
_OCI_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def parse_ref(written: str) -> FeatureRef:
    """Parse a feature key: a local path, a tarball URL or an OCI reference."""
    text = written.strip()
    if not text or has_control(text) or any(c.isspace() for c in text):
        raise ConfigError(
            f"feature {written!r} contains a space or a control character",
            "a feature key is a path (./NAME), a tarball URL or REGISTRY/NAMESPACE/ID[:VERSION]",
        )
    if text.startswith(("./", "../")):
        return FeatureRef(written=written, kind="local", resource=text)
    if text.startswith("/"):
        raise ConfigError(
            f"feature {written!r}: absolute paths are not allowed",
            "put the feature under .devcontainer/ and write it as ./NAME",
        )
    if text.startswith(("https://", "http://")):
        if not re.search(r"/devcontainer-feature-[^/]+\.tgz$", text):
            raise ConfigError(
                f"feature {written!r}: a tarball URL must end in devcontainer-feature-ID.tgz",
                "point at the release asset of the feature, e.g. .../devcontainer-feature-go.tgz",
            )
        return FeatureRef(written=written, kind="tarball", resource=text)
    return _parse_oci_ref(written, text.lower())


def _parse_oci_ref(written: str, lowered: str) -> FeatureRef:
    """Parse a lower-cased REGISTRY/NAMESPACE/ID[:TAG|@DIGEST] feature key."""
    if "/" not in lowered:
        raise ConfigError(
            f"feature {written!r} is neither a path, a URL nor a full OCI reference",
            "write REGISTRY/NAMESPACE/ID[:VERSION] as the feature's documentation gives it "
            f"(short ids of the first feature generation are not read), or ./{written} for a "
            "local feature",
        )
    resource, tag, digest = _split_version(written, lowered)
    first = resource.split("/", 1)[0]
    if resource.count("/") < 1 or not ("." in first or ":" in first or first == "localhost"):
        raise ConfigError(
            f"feature {written!r} does not name a registry",
            "write it as REGISTRY/NAMESPACE/ID[:VERSION] (the registry has a dot or a port)",
        )
    if not _OCI_REPOSITORY.fullmatch(resource) or (tag and not _OCI_TAG.fullmatch(tag)):
        raise ConfigError(
            f"feature {written!r} is not a valid OCI reference",
            "registry and path are lower-case letters, digits and . _ -; a tag is letters, "
            "digits and . _ - (e.g. registry.example/features/go:1)",
        )
    resource = resource.replace("/devcontainers-contrib/", "/devcontainers-extra/")
    return FeatureRef(
        written=written,
        kind="oci",
        resource=resource,
        tag=tag or ("" if digest else "latest"),
        digest=digest,
    )


def _split_version(written: str, reference: str) -> tuple[str, str, str]:
    """Split an OCI reference into (resource, tag, digest); tag and digest may be empty."""
    if "@" in reference:
        resource, digest = reference.split("@", 1)
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise ConfigError(
                f"feature {written!r}: the digest must be sha256:<64 hex digits>",
                "copy the digest from the registry or the lockfile",
            )
        return resource, "", digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :], ""
    return reference, "", ""


class FeatureOption(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["string", "boolean"] | None = None
    default: str | bool | None = None
    description: str | None = None
    proposals: list[str] | None = None
    enum: list[str] | None = Field(default=None)


class FeatureJson(BaseModel):
    """devcontainer-feature.json: the properties an installer needs."""

    model_config = ConfigDict(extra="allow")
    id: str
    version: str = ""
    name: str = ""
    options: dict[str, FeatureOption] = {}
    containerEnv: dict[str, str] = {}
    dependsOn: dict[str, Any] = {}
    installsAfter: list[str] = []
    legacyIds: list[str] = []
    entrypoint: str | None = None

    @field_validator("containerEnv")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        # They become `ENV NAME=...` lines of a Dockerfile podbay writes.
        for key, text in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or "\x00" in text:
                raise ValueError(f"containerEnv name {key!r} is not a variable name")
        return value


def parse_feature_json(doc: Document) -> FeatureJson:
    """The manifest a devcontainer-feature.json holds; errors name its file:line:col."""
    try:
        return FeatureJson.model_validate(doc.value)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(
            f"{doc.where(tuple(first['loc']))}: {field}: {first['msg']}",
            "a feature needs at least an id; see the feature spec for devcontainer-feature.json",
        ) from None


def user_options(value: Any) -> dict[str, str | bool]:
    """The options a feature key is given: an object, a string (= version), or true/{}."""
    if isinstance(value, str):
        return {"version": value}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, bool) else str(v) for k, v in value.items()}
    return {}


def env_name(option: str) -> str:
    """`optionId` -> `OPTIONID`, as the spec turns option names into variables."""
    name = re.sub(r"[^\w_]", "_", option)
    name = re.sub(r"^[\d_]+", "_", name)
    return name.upper()


def option_env(feature: FeatureJson, given: Mapping[str, str | bool]) -> dict[str, str]:
    """Every declared default, overridden by what the user gave (undeclared options too)."""
    values: dict[str, str | bool] = {
        key: option.default for key, option in feature.options.items() if option.default is not None
    }
    values.update(given)
    return {
        env_name(key): ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key, value in values.items()
    }


def env_file(variables: Mapping[str, str]) -> str:
    """KEY='value' lines for `set -a; . file`: quoted so `$`, quotes and spaces stay as written."""
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in variables.items())


# Install order ---------------------------------------------------------------------------------


class OrderNode(BaseModel):
    """A feature in the install graph: its identity, edges, and what orders it among the
    features ready in the same round (the reference CLI's comparison, `precedes`)."""

    key: str  # unique: the resource plus its options
    resource: str  # for matching installsAfter / overrideFeatureInstallOrder
    aliases: list[str] = []  # legacy ids as resources
    depends_on: list[str] = []  # keys of hard dependencies
    installs_after: list[str] = []  # resources (soft)
    kind: Literal["local", "tarball", "oci"] = "local"
    written: str = ""  # the key as written in devcontainer.json or a dependsOn
    source: str = ""  # local: the folder's resolved path; tarball: URL; oci: resource
    tag: str = ""
    digest: str = ""
    options: dict[str, str | bool] = {}


def strip_version(ref: str) -> str:
    ref = ref.strip().lower()
    if ref.startswith(("./", "../", "https://", "http://")):
        return ref
    if "@" in ref:
        return ref.split("@", 1)[0]
    slash, colon = ref.rfind("/"), ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def install_order(nodes: list[OrderNode], override: list[str]) -> list[str]:
    """Keys in install order, by the spec's round algorithm; a cycle is an error."""
    by_key = {n.key: n for n in nodes}
    priority: dict[str, int] = {}
    wanted = [strip_version(r) for r in override]
    for node in nodes:
        for index, ref in enumerate(wanted):
            if ref == node.resource or ref in node.aliases:
                priority[node.key] = len(wanted) - index
                break

    def soft(node: OrderNode) -> set[str]:
        deps = set()
        for ref in node.installs_after:
            target = strip_version(ref)
            deps |= {
                other.key
                for other in nodes
                if other.key != node.key and (other.resource == target or target in other.aliases)
            }
        return deps

    edges = {n.key: set(n.depends_on) | soft(n) for n in nodes}
    done: list[str] = []
    installed: set[str] = set()
    while len(done) < len(nodes):
        ready = [k for k in by_key if k not in installed and edges[k] <= installed]
        if not ready:
            stuck = {k: edges[k] - installed for k in by_key if k not in installed}
            raise ConfigError(
                "features depend on each other in a cycle: "
                + ", ".join(_names([by_key[k] for k in _in_cycles(stuck)])),
                "remove one of the dependsOn/installsAfter links between them",
            )
        top = max(priority.get(k, 0) for k in ready)
        batch = sorted(
            (by_key[k] for k in ready if priority.get(k, 0) == top),
            key=functools.cmp_to_key(precedes),
        )
        done += [n.key for n in batch]
        installed |= {n.key for n in batch}
    return done


def _in_cycles(stuck: dict[str, set[str]]) -> list[str]:
    """The stuck features that are part of a cycle (or lie between two), without those that
    only wait for one."""
    left = dict(stuck)
    while True:
        needed = set().union(*left.values()) if left else set()
        waiting = [k for k in left if k not in needed]
        if not waiting:
            return list(left)
        for key in waiting:
            del left[key]


def _names(nodes: list[OrderNode]) -> list[str]:
    """Each feature once, sorted; instances of one feature are told apart by their options."""
    count: dict[str, int] = {}
    for node in nodes:
        count[node.resource] = count.get(node.resource, 0) + 1
    names = set()
    for node in nodes:
        name = node.resource
        if count[name] > 1:
            shown = ", ".join(f"{k}={_option_text(v)}" for k, v in sorted(node.options.items()))
            name += f" ({shown or 'no options'})"
        names.add(name)
    return sorted(names)


def _option_text(value: str | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else value


# The reference CLI orders features that are ready in the same round with String.localeCompare
# (ICU, root order): white space, then punctuation in this order, symbols, digits, then letters
# regardless of case (lower case first when only case differs).
_PUNCTUATION = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"


def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A sort key that orders ASCII strings as the reference CLI's localeCompare does (other
    characters after them, by code point)."""
    primary: list[int] = []
    case: list[int] = []
    for ch in text:
        if ch in _PUNCTUATION:
            primary.append(_PUNCTUATION.index(ch))
        elif "0" <= ch <= "9":
            primary.append(100 + ord(ch))
        elif ch.isascii() and ch.isalpha():
            primary.append(200 + ord(ch.lower()))
        else:
            primary.append(1000 + ord(ch))
        case.append(1 if ch.isupper() else 0)
    return tuple(primary), tuple(case)


def _cmp(a: str, b: str) -> int:
    ka, kb = collation_key(a), collation_key(b)
    return (ka > kb) - (ka < kb)


def _bool_cmp(a: bool, b: bool) -> int:
    return 0 if a == b else (1 if a else -1)


def options_cmp(a: Mapping[str, str | bool], b: Mapping[str, str | bool]) -> int:
    """The reference's rule for two instances' options: fewer options first, then by their
    names, then by their values (false before true)."""
    if len(a) != len(b):
        return len(a) - len(b)
    for ka, kb in zip(sorted(a), sorted(b), strict=True):
        if ka != kb:
            return _cmp(ka, kb)
        va, vb = a[ka], b[kb]
        if isinstance(va, str) and isinstance(vb, str) and (order := _cmp(va, vb)):
            return order
        if isinstance(va, bool) and isinstance(vb, bool) and (order := _bool_cmp(va, vb)):
            return order
    return 0


def precedes(a: OrderNode, b: OrderNode) -> int:
    """Negative when `a` installs before `b` within a round: the reference CLI's compareTo."""
    if a.kind != b.kind:
        return _cmp(a.written, b.written)
    if a.kind != "oci":  # a local folder or a tarball URL, then the options
        return _cmp(a.source, b.source) or options_cmp(a.options, b.options)
    if a.digest == b.digest and options_cmp(a.options, b.options) == 0:
        return 0
    space_a, _, id_a = a.source.rpartition("/")
    space_b, _, id_b = b.source.rpartition("/")
    if space_a != space_b:
        return _cmp(space_a, space_b)
    ids_a = {id_a, *(alias.rpartition("/")[2] for alias in a.aliases)}
    ids_b = {id_b, *(alias.rpartition("/")[2] for alias in b.aliases)}
    if not ids_a & ids_b:
        return _cmp(id_a, id_b)
    if a.tag and b.tag and a.tag != b.tag:
        return _cmp(a.tag, b.tag)
    return options_cmp(a.options, b.options) or _cmp(a.digest, b.digest)
