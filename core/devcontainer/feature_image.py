"""PURE: the image podbay builds on the base: its Dockerfile (features, then the UID update)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from pydantic import BaseModel

from podbay.core.devcontainer.features import env_file, option_env
from podbay.core.devcontainer.metadata import Merged

if TYPE_CHECKING:
    from podbay.core.devcontainer.plan import Feature

# assets/update-uid.sh, as the generated build context holds it.
UID_SCRIPT = "podbay-update-uid.sh"

# Where feature files are unpacked during the build (removed after each install).
FEATURES_TMP = "/tmp/podbay-features"


class FeatureStage(BaseModel):
    """One feature's step in the generated Dockerfile, and the files its folder gets."""

    dir: str  # folder name in the build context
    source: str  # the feature's files on this computer
    env: str  # devcontainer-features.env
    builtin: str  # podbay-builtin.env


class Extension(BaseModel):
    """The image podbay builds on top of the base: features, then the UID update."""

    tag: str
    dockerfile: str
    stages: list[FeatureStage]
    labels: dict[str, str]
    updates_uid: bool = False


def uid_step(merged: Merged, remote_user: str, source_owner: tuple[int, int] | None) -> str | None:
    """The RUN line of updateRemoteUserUID (assets/update-uid.sh), when it applies: a named,
    non-root remote user and a source owned by someone other than root."""
    if merged.updateRemoteUserUID is False or source_owner is None:
        return None
    uid, gid = source_owner
    if uid == 0 or remote_user == "root" or remote_user.isdigit() or ":" in remote_user:
        return None
    script = f"/tmp/{UID_SCRIPT}"
    return f"sh {script} {shlex.quote(remote_user)} {uid} {gid} && rm -f {script}"


def feature_stage(
    index: int, feature: Feature, remote_user: str, container_user: str
) -> FeatureStage:
    """The `index`th feature's folder in the build context and the env files it gets."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in feature.manifest.id)
    return FeatureStage(
        dir=f"{index}-{name}",
        source=feature.folder,
        env=env_file(option_env(feature.manifest, feature.options)),
        builtin=env_file({"_REMOTE_USER": remote_user, "_CONTAINER_USER": container_user}),
    )


def dockerfile(
    base: str,
    image_user: str,
    features: list[Feature],
    stages: list[FeatureStage],
    uid_line: str | None,
) -> str:
    """The generated Dockerfile: each feature installed as root, then the image's user again."""
    lines = [f"FROM {base}", "USER root"]
    for feature, stage in zip(features, stages, strict=True):
        lines.append(f"# {feature.key}")
        for key, value in feature.manifest.containerEnv.items():
            lines.append(f"ENV {key}={_env_value(value)}")
        folder = f"{FEATURES_TMP}/{stage.dir}"
        lines.append(f"COPY {stage.dir}/ {folder}/")
        lines.append(f"RUN sh {folder}/podbay-install.sh && rm -rf {folder}")
    if uid_line:
        lines.append(f"COPY {UID_SCRIPT} /tmp/{UID_SCRIPT}")
        lines.append(f"RUN {uid_line}")
    lines.append(f"USER {image_user}")
    return "\n".join(lines) + "\n"


def _env_value(value: str) -> str:
    # Dockerfile ENV: a double-quoted value; `$` stays, so ${PATH} expands as features expect.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
