"""Getting the features a config asks for onto this computer, and their install order.

Local features are read where they are (inside the config's `.devcontainer/` folder). Tarball
and OCI features come through `FeatureSource.fetch`, which is not wired up yet: until it is,
they are refused with a hint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.devcontainer import features as feat
from core.devcontainer.plan import Feature
from core.errors import ConfigError

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
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"feature {where}: no devcontainer-feature.json in {folder}",
            "a feature folder holds devcontainer-feature.json and install.sh",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"feature {where}: cannot read {path}: {exc}", "fix the file's JSON"
        ) from None
    manifest = feat.parse_feature_json(data, str(path))
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


class FeatureSource:
    """Resolves feature keys to folders on this computer (local now; remote via `fetch`)."""

    def __init__(
        self,
        config_dir: Path,
        root: Path,
        warn: Warn,
        fetch: Callable[[feat.FeatureRef], tuple[Path, str]] | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.root = root
        self.warn = warn
        self.fetch = fetch

    def get(self, key: str) -> tuple[feat.FeatureRef, Path, str]:
        ref, warning = feat.parse_ref(key)
        if warning:
            self.warn(warning)
        if ref.kind == "local":
            folder = local_folder(ref, self.config_dir, self.root)
            return ref, folder, tree_digest(folder)
        if self.fetch is None:
            raise ConfigError(
                f"feature {key!r}: only local features (./NAME) are supported here",
                "copy the feature into .devcontainer/ and refer to it as ./NAME",
            )
        folder, digest = self.fetch(ref)
        return ref, folder, digest


def resolve(wanted: dict[str, Any], override: list[str], source: FeatureSource) -> list[Feature]:
    """Every feature asked for and what they depend on, in install order."""
    nodes: dict[str, tuple[feat.OrderNode, Feature]] = {}

    def add(key: str, value: Any, depth: int) -> str:
        if depth > 20:
            raise ConfigError(f"feature {key!r}: dependsOn nests too deep", "look for a loop")
        ref, folder, digest = source.get(key)
        manifest = read_manifest(folder, repr(key))
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
            sort_key=node_key,
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
