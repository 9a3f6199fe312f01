"""Getting the features a config asks for onto this computer, and their install order.

Local features are read where they are (inside the config's `.devcontainer/` folder). Tarball
and OCI features are downloaded (core/registry.py) into podbay's cache, one folder per content
digest, and pinned by `devcontainer-lock.json` next to the config: a feature whose locked digest
is in the cache needs no network at all, so a rebuild works offline. A tag that was never locked
falls back to the last download of that tag when the registry cannot be reached, with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podbay.core.devcontainer import features as feat
from podbay.core.devcontainer import jsonc
from podbay.core.devcontainer.plan import Feature
from podbay.core.devcontainer.values import printable
from podbay.core.errors import ConfigError
from podbay.core.registry import (
    FEATURE_LAYER_TYPE,
    FeatureFetchError,
    Registry,
    Unreachable,
    parse_manifest,
    sha256,
)

Warn = Callable[[str], None]


def tree_digest(folder: Path) -> str:
    """sha256 over a folder's files (relative path, executable bit, bytes), in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        executable = os.access(path, os.X_OK)
        digest.update(f"{rel}\0{int(executable)}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def read_manifest(folder: Path, where: str) -> feat.FeatureJson:
    path = folder / "devcontainer-feature.json"
    try:
        doc = jsonc.parse(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise ConfigError(
            f"feature {where}: no devcontainer-feature.json in {folder}",
            "a feature folder holds devcontainer-feature.json and install.sh",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"feature {where}: cannot read {path}: {exc}", "save it as UTF-8 text"
        ) from None
    manifest = feat.parse_feature_json(doc)
    if not (folder / "install.sh").is_file():
        raise ConfigError(
            f"feature {where}: no install.sh in {folder}",
            "a feature folder holds devcontainer-feature.json and install.sh",
        )
    return manifest


def local_folder(ref: feat.FeatureRef, config_dir: Path, root: Path) -> Path:
    """A local feature's folder; it must be inside the workspace's .devcontainer folder."""
    folder = (config_dir / ref.resource).resolve()
    allowed = (root / ".devcontainer").resolve()
    if not folder.is_relative_to(allowed):
        raise ConfigError(
            f"feature {ref.written!r} is outside the .devcontainer folder",
            "move the feature into .devcontainer/ (the spec keeps local features there)",
        )
    if not folder.is_dir():
        raise ConfigError(
            f"feature {ref.written!r}: folder {folder} does not exist",
            "check the path; it is relative to the folder of devcontainer.json",
        )
    return folder


LockEntries = dict[str, dict[str, Any]]


def lockfile_path(config_file: Path) -> Path:
    """`devcontainer-lock.json` beside the config (`.devcontainer-lock.json` for a dot file)."""
    dot = config_file.name.startswith(".")
    return config_file.parent / (".devcontainer-lock.json" if dot else "devcontainer-lock.json")


def read_lockfile(path: Path) -> LockEntries:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check its permissions") from None
    if not text.strip():
        return {}
    data = jsonc.parse(text, str(path)).value
    try:
        features = data["features"]
        if not isinstance(features, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{path} is not a feature lockfile", "delete it; podbay writes a new one on up"
        ) from None
    return {str(k): v for k, v in features.items() if isinstance(v, dict)}


def render_lockfile(entries: LockEntries) -> str:
    """The lockfile as the reference CLI writes it: sorted by key, two-space JSON."""
    ordered = {key: entries[key] for key in sorted(entries, key=lambda k: (k.lower(), k))}
    return json.dumps({"features": ordered}, indent=2, ensure_ascii=False) + "\n"


class Downloads:
    """Tarball and OCI features through the cache, pinned by the lockfile's entries."""

    def __init__(
        self,
        cache: Path,
        locked: LockEntries,
        warn: Warn,
        registry: Callable[[], Registry],
    ) -> None:
        self.cache = cache
        self.locked = locked
        self.warn = warn
        self._make_registry = registry
        self._registry: Registry | None = None
        self.entries: LockEntries = {}  # what the lockfile should say after this resolution

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._make_registry()
        return self._registry

    def get(self, ref: feat.FeatureRef) -> tuple[Path, str]:
        """The feature's folder in the cache and its digest (manifest digest for OCI)."""
        if ref.kind == "tarball":
            return self._tarball(ref)
        return self._oci(ref)

    def note(self, ref: feat.FeatureRef, digest: str, manifest: feat.FeatureJson) -> None:
        resolved = ref.resource if ref.kind == "tarball" else f"{ref.resource}@{digest}"
        entry: dict[str, Any] = {
            "version": manifest.version,
            "resolved": resolved,
            "integrity": digest,
        }
        if manifest.dependsOn:
            entry["dependsOn"] = list(manifest.dependsOn)
        self.entries[ref.written] = entry

    def _pinned(self, ref: feat.FeatureRef) -> str:
        """The digest the lockfile holds for this key, if it is about the same feature."""
        entry = self.locked.get(ref.written) or {}
        resolved, integrity = str(entry.get("resolved", "")), str(entry.get("integrity", ""))
        same = resolved == ref.resource or resolved.startswith(f"{ref.resource}@")
        if not same or not integrity:
            return ""
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", integrity):
            # A pin podbay cannot check is not dropped without a word.
            raise FeatureFetchError(
                f"devcontainer-lock.json pins {ref.written} with integrity "
                f"{printable(integrity)}, which podbay cannot check",
                "only sha256 pins are checked; delete that entry to lock the feature again",
            )
        return integrity

    def _oci(self, ref: feat.FeatureRef) -> tuple[Path, str]:
        digest = ref.digest or self._pinned(ref)
        manifest = self._cached_manifest(digest, ref.written) if digest else None
        if manifest is None:
            try:
                digest, data = self.registry.manifest(ref.registry, ref.path, digest or ref.tag)
            except Unreachable:
                digest = self._refs().get(f"{ref.resource}:{ref.tag}", "")
                manifest = self._cached_manifest(digest, ref.written)
                if manifest is None:
                    raise
                self._offline(ref)
            else:
                _write_atomic(self._manifest_file(digest), data)
                manifest = parse_manifest(data, ref.written)
                if not ref.digest:
                    self._remember(f"{ref.resource}:{ref.tag}", digest)
        layers = [x for x in manifest.get("layers") or [] if isinstance(x, dict)]
        layer = next((x for x in layers if x.get("mediaType") == FEATURE_LAYER_TYPE), None)
        if layer is None or not str(layer.get("digest", "")).startswith("sha256:"):
            raise FeatureFetchError(
                f"feature {ref.written!r}: its manifest has no feature layer",
                "the feature was published wrongly; ask its author",
            )
        blob = str(layer["digest"])
        folder = self._folder(blob)
        if not folder.is_dir():
            data = self.registry.blob(ref.registry, ref.path, blob)
            self._unpack(data, folder, ref.written)
        return folder, digest

    def _tarball(self, ref: feat.FeatureRef) -> tuple[Path, str]:
        pinned = self._pinned(ref)
        if pinned and self._folder(pinned).is_dir():
            return self._folder(pinned), pinned
        try:
            data = self.registry.tarball(ref.resource)
        except Unreachable:
            fallback = self._refs().get(ref.resource, "")
            if not fallback or not self._folder(fallback).is_dir():
                raise
            self._offline(ref)
            return self._folder(fallback), fallback
        digest = sha256(data)
        if pinned and digest != pinned:
            raise FeatureFetchError(
                f"feature {ref.written!r} changed since devcontainer-lock.json was written "
                f"(now {digest[:19]}, locked {pinned[:19]})",
                "if you trust the new file, delete its entry from devcontainer-lock.json",
            )
        if not self._folder(digest).is_dir():
            self._unpack(data, self._folder(digest), ref.written)
        self._remember(ref.resource, digest)
        return self._folder(digest), digest

    def _offline(self, ref: feat.FeatureRef) -> None:
        self.warn(f"feature {ref.written!r}: offline, using the copy downloaded before")

    def _folder(self, digest: str) -> Path:
        return self.cache / "blobs" / digest.replace(":", "-")

    def _manifest_file(self, digest: str) -> Path:
        return self.cache / "manifests" / (digest.replace(":", "-") + ".json")

    def _cached_manifest(self, digest: str, where: str) -> dict[str, Any] | None:
        """The manifest kept from an earlier download, as the registry served it."""
        try:
            data = self._manifest_file(digest).read_bytes() if digest else b""
        except OSError:
            return None
        return parse_manifest(data, where) if data and sha256(data) == digest else None

    def _refs(self) -> dict[str, str]:
        """Tag or URL -> the digest last downloaded for it."""
        try:
            data = json.loads((self.cache / "refs.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _remember(self, key: str, digest: str) -> None:
        refs = self._refs()
        if refs.get(key) != digest:
            refs[key] = digest
            _write_atomic(self.cache / "refs.json", json.dumps(refs, indent=1).encode())

    @staticmethod
    def _unpack(data: bytes, folder: Path, where: str) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder.parent))
        try:
            try:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                    archive.extractall(temp, filter="data")
            except tarfile.FilterError as exc:
                raise FeatureFetchError(
                    f"feature {where!r}: the download was refused: {exc}",
                    "a feature's files all stay inside its own folder; do not use this one",
                ) from None
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise FeatureFetchError(
                    f"feature {where!r}: the download is not a readable tar ({exc})",
                    "check the reference; a feature is a .tgz with devcontainer-feature.json",
                ) from None
            with contextlib.suppress(OSError):  # another up unpacked the same digest first
                temp.rename(folder)
        finally:
            shutil.rmtree(temp, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_bytes(data)
    temp.replace(path)


class FeatureSource:
    """Resolves feature keys to folders on this computer: local ones in place, others through
    `downloads` (None: only local features are allowed)."""

    def __init__(
        self, config_dir: Path, root: Path, warn: Warn, downloads: Downloads | None = None
    ) -> None:
        self.config_dir = config_dir
        self.root = root
        self.warn = warn
        self.downloads = downloads

    def get(self, key: str) -> tuple[feat.FeatureRef, Path, str]:
        ref = feat.parse_ref(key)
        if ref.kind == "local":
            folder = local_folder(ref, self.config_dir, self.root)
            return ref, folder, tree_digest(folder)
        if self.downloads is None:
            raise ConfigError(
                f"feature {key!r}: only local features (./NAME) are supported here",
                "copy the feature into .devcontainer/ and refer to it as ./NAME",
            )
        folder, digest = self.downloads.get(ref)
        return ref, folder, digest

    def note(self, ref: feat.FeatureRef, digest: str, manifest: feat.FeatureJson) -> None:
        if ref.kind != "local" and self.downloads is not None:
            self.downloads.note(ref, digest, manifest)


def resolve(wanted: dict[str, Any], override: list[str], source: FeatureSource) -> list[Feature]:
    """Every feature asked for and what they depend on, in install order."""
    nodes: dict[str, tuple[feat.OrderNode, Feature]] = {}

    def add(key: str, value: Any, depth: int) -> str:
        if depth > 20:
            raise ConfigError(f"feature {key!r}: dependsOn nests too deep", "look for a loop")
        ref, folder, digest = source.get(key)
        manifest = read_manifest(folder, repr(key))
        source.note(ref, digest, manifest)
        options = feat.user_options(value)
        node_key = json.dumps([feat.strip_version(ref.resource), options], sort_keys=True)
        if node_key in nodes:
            return node_key
        feature = Feature(
            key=key, folder=str(folder), manifest=manifest, options=options, digest=digest
        )
        node = feat.OrderNode(
            key=node_key,
            resource=feat.strip_version(key if ref.kind == "local" else ref.resource),
            aliases=_aliases(ref, manifest),
            installs_after=manifest.installsAfter,
            kind=ref.kind,
            written=key,
            source=str(folder) if ref.kind == "local" else ref.resource,
            tag=ref.tag,
            digest=digest,
            options=options,
        )
        nodes[node_key] = (node, feature)
        node.depends_on = [add(dep, opts, depth + 1) for dep, opts in manifest.dependsOn.items()]
        return node_key

    for key, value in wanted.items():
        add(key, value, 0)
    order = feat.install_order([n for n, _ in nodes.values()], override)
    return [nodes[k][1] for k in order]


def _aliases(ref: feat.FeatureRef, manifest: feat.FeatureJson) -> list[str]:
    if ref.kind != "oci":
        return [manifest.id.lower()]
    parent = ref.resource.rsplit("/", 1)[0]
    return [f"{parent}/{legacy.lower()}" for legacy in manifest.legacyIds]
