"""Differential tests: the reference devcontainer CLI and podbay bring up the same folder, and
what a user sees inside must match. Known, deliberate differences: docs/compatibility.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.registries import push_feature, start_registry, write_feature

REFERENCE = Path(__file__).resolve().parents[2] / "bench" / ".ref" / "node_modules" / ".bin"
META_IMAGE = "podbay-test/meta:1"

# What a user notices inside: who they are, where they land, their environment, what the
# hooks wrote and in which order, what the features installed.
PROBE = r"""
echo "user=$(id -un) uid=$(id -u) home=$HOME"
echo "cwd=$(pwd)"
for v in FROM_CONTAINER_ENV FROM_REMOTE_ENV WITH_CONTAINER_PATH FEATURE_ENV QUOTED; do
  echo "env $v=$(printenv $v)"
done
echo "order=$(cat /tmp/order 2>/dev/null | tr '\n' ' ')"
grep -q " /data " /proc/mounts && echo "volume on /data"
for f in /usr/local/first /usr/local/second /usr/local/third /word /usr/local/hello; do
  [ -e "$f" ] && echo "file $f: $(cat $f)"
done
true
"""


@pytest.fixture(scope="module")
def reference() -> Path:
    cli = REFERENCE / "devcontainer"
    if not cli.exists():
        message = "the reference devcontainer CLI is not installed (run: make refcli)"
        if os.environ.get("PODBAY_REQUIRE_DOCKER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return cli


@pytest.fixture(scope="module")
def meta_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image whose settings live only in its devcontainer.metadata label, like the
    devcontainers/* images: remoteUser, a hook, containerEnv."""
    folder = tmp_path_factory.mktemp("meta")
    label = json.dumps(
        [
            {
                "id": "base",
                "remoteUser": "dev",
                "containerEnv": {"FROM_CONTAINER_ENV": "image"},
                "postCreateCommand": "echo image >> /tmp/order",
            }
        ]
    )
    (folder / "Dockerfile").write_text(
        f"FROM {IMAGE}\nRUN useradd -m -u 1234 -s /bin/bash dev\n"
        f"LABEL devcontainer.metadata={json.dumps(label)}\n"
    )
    subprocess.run(["docker", "build", "-q", "-t", META_IMAGE, str(folder)], check=True)
    return META_IMAGE


def feature(project: Path, name: str, manifest: dict[str, Any], install: str) -> None:
    folder = project / ".devcontainer" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "devcontainer-feature.json").write_text(json.dumps({"id": name, **manifest}))
    (folder / "install.sh").write_text("#!/bin/sh\nset -e\n" + install)


def image_case(project: Path, image: str) -> None:
    write_config(
        project,
        {
            "image": image,
            "containerEnv": {"QUOTED": 'it\'s "q" $x'},
            "remoteEnv": {
                "FROM_REMOTE_ENV": "remote",
                "WITH_CONTAINER_PATH": "${containerEnv:FROM_CONTAINER_ENV}-seen",
            },
            "mounts": ["type=volume,source=podbay-compat-${devcontainerId},target=/data"],
            "onCreateCommand": "echo onCreate >> /tmp/order",
            "updateContentCommand": ["sh", "-c", "echo updateContent >> /tmp/order"],
            "postCreateCommand": {"one": "echo postCreate >> /tmp/order"},
            "postStartCommand": "echo postStart >> /tmp/order",
            "postAttachCommand": "echo postAttach >> /tmp/order",
        },
    )


def features_case(project: Path, image: str) -> None:
    (project / ".devcontainer").mkdir(parents=True, exist_ok=True)
    (project / ".devcontainer" / "Dockerfile").write_text(
        "ARG BASE=scratch\nFROM ${BASE} AS other\nRUN echo other > /other\n"
        'FROM ${BASE} AS dev\nARG WORD=none\nRUN echo "$WORD" > /word\n'
    )
    feature(
        project,
        "first",
        {"options": {"color": {"type": "string", "default": "red"}},
         "postCreateCommand": "echo first >> /tmp/order"},
        'echo "$COLOR" > /usr/local/first\n',
    )  # fmt: skip
    feature(
        project,
        "second",
        {"installsAfter": ["./first"], "containerEnv": {"FEATURE_ENV": "second"},
         "options": {"flag": {"type": "boolean", "default": False}}},
        'echo "$FLAG after $(cat /usr/local/first)" > /usr/local/second\n',
    )  # fmt: skip
    feature(
        project,
        "third",
        {"options": {"size": {"type": "string", "default": "s"}},
         "postCreateCommand": "echo third >> /tmp/order"},
        'echo "$SIZE $(cat /usr/local/second 2>/dev/null || echo none)" > /usr/local/third\n',
    )  # fmt: skip
    write_config(
        project,
        {
            "build": {
                "dockerfile": "Dockerfile",
                "target": "dev",
                "args": {"BASE": image, "WORD": "w"},
            },
            "features": {"./third": {"size": "xl"}, "./second": {"flag": True}, "./first": {}},
            "overrideFeatureInstallOrder": ["./third"],
            "postCreateCommand": "echo config >> /tmp/order",
        },
    )


@dataclass
class Outcome:
    theirs: list[str]  # what the probe printed in the reference CLI's container
    mine: list[str]  # and in podbay's
    their_folder: Path
    my_folder: Path


@pytest.fixture
def both(podbay: Podbay, reference: Path, tmp_path: Path) -> Iterator[Any]:
    """Run a case with both tools, each on its own copy of the folder (same name; by default a
    new one, else `name`; `inside` is the workspace folder's path in it) and return what each
    shows inside, with `probe` (default PROBE)."""
    made: list[Path] = []

    def run(
        case: Any,
        image: str,
        name: str = "",
        inside: str = ".",
        probe: str = PROBE,
        ref_args: tuple[str, ...] = (),
        our_args: tuple[str, ...] = (),
    ) -> Outcome:
        name = name or f"cmp{uuid.uuid4().hex[:6]}"
        (tmp_path / "ref").mkdir(exist_ok=True)
        case(tmp_path / "ref" / name, image)
        shutil.copytree(tmp_path / "ref" / name, podbay.cwd / name, symlinks=True)
        theirs, mine = tmp_path / "ref" / name / inside, podbay.cwd / name / inside
        made.append(theirs)
        up = subprocess.run(
            [str(reference), "up", "--workspace-folder", str(theirs), *ref_args],
            capture_output=True,
            text=True,
        )
        assert json.loads(up.stdout.splitlines()[-1])["outcome"] == "success", up.stderr[-2000:]
        ref_out = subprocess.run(
            [
                str(reference),
                "exec",
                "--workspace-folder",
                str(theirs),
                *ref_args,
                "sh",
                "-c",
                probe,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        workspace = podbay.json("up", str(mine), *our_args)["name"]
        our_out = podbay.ok("exec", workspace, "--", "sh", "-c", probe).stdout
        return Outcome(ref_out.splitlines(), our_out.splitlines(), theirs, mine)

    yield run
    for folder in made:
        labels = f"label=devcontainer.local_folder={folder.resolve()}"
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", labels], capture_output=True, text=True
        ).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
        # The reference's images are named vsc-<the folder's name as an image name>-<hash>...
        prefix = "vsc-" + re.sub(r"[^a-z0-9._-]+", "", folder.resolve().name.lower()) + "-"
        listed = subprocess.run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        images = [image for image in listed if image.startswith(prefix)]
        if images:
            subprocess.run(["docker", "rmi", "-f", *images], capture_output=True)


def test_image_with_metadata_label_hooks_env_and_mounts(both: Any, meta_image: str) -> None:
    outcome = both(image_case, meta_image)
    mine = outcome.mine
    assert mine == outcome.theirs
    assert "user=dev uid=1234 home=/home/dev" in mine  # remoteUser from the label alone
    assert "volume on /data" in mine
    assert (
        "order=onCreate updateContent image postCreate postStart postAttach " in mine
    )  # every hook form, the image's hook before the config's


def test_dockerfile_target_args_and_local_features(both: Any) -> None:
    outcome = both(features_case, IMAGE)
    mine = outcome.mine
    assert mine == outcome.theirs
    assert "file /usr/local/second: true after red" in mine
    assert "file /usr/local/third: xl none" in mine  # overrideFeatureInstallOrder put it first
    assert "env FEATURE_ENV=second" in mine


def test_oci_features_with_dependencies_and_the_lockfile(
    both: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Features from a registry on this computer (as localhost: the reference CLI speaks plain
    HTTP only to that name, and takes only https:// tarballs); both write the same lockfile."""
    root = tmp_path_factory.mktemp("published")
    with start_registry(root / "registry") as registry:
        reg = "localhost:" + registry.address.rsplit(":", 1)[1]
        base = write_feature(root / "base", {"id": "base", "version": "2.0.0"}, "touch /b\n")
        push_feature(registry, "podbay/base", ["2"], base)
        hello = write_feature(
            root / "hello",
            {"id": "hello", "version": "1.0.0", "dependsOn": {f"{reg}/podbay/base:2": {}},
             "options": {"greeting": {"type": "string", "default": "hello"}}},
            'test -f /b; echo "$GREETING from hello" > /usr/local/hello\n',
        )  # fmt: skip
        push_feature(registry, "podbay/hello", ["1"], hello)

        def case(project: Path, image: str) -> None:
            features = {f"{reg}/podbay/hello:1": {"greeting": "hi"}}
            write_config(project, {"image": image, "features": features})

        outcome = both(case, IMAGE)
    assert outcome.mine == outcome.theirs
    assert "file /usr/local/hello: hi from hello" in outcome.mine
    lock = ".devcontainer/devcontainer-lock.json"
    mine = (outcome.my_folder / lock).read_text()
    assert mine == (outcome.their_folder / lock).read_text()
    assert sorted(json.loads(mine)["features"]) == [f"{reg}/podbay/base:2", f"{reg}/podbay/hello:1"]


# Where the folder lands and what the spec's folder variables say about it.
FOLDER_PROBE = r"""
echo "cwd=$(pwd) mounted=$(ls /workspaces)"
echo "local=$LOCAL_BASE container=$CONTAINER_BASE folder=$CONTAINER_FOLDER which=$WHICH"
ls -A | tr '\n' ' '
"""

FOLDER_ENV = {
    "LOCAL_BASE": "${localWorkspaceFolderBasename}",
    "CONTAINER_BASE": "${containerWorkspaceFolderBasename}",
    "CONTAINER_FOLDER": "${containerWorkspaceFolder}",
}

LONG = "Long_" + "x" * 70


@pytest.mark.parametrize(
    ("name", "folder_setting"),
    [
        ("MyProj", ""),
        ("MyProj", "/workspaces/${localWorkspaceFolderBasename}"),
        ("my_proj.v2", ""),
        (LONG, ""),
    ],
)
def test_the_workspace_folder_keeps_the_folders_own_name(
    both: Any, name: str, folder_setting: str
) -> None:
    """Upper case, `_`, `.` and more than 63 characters: the folder is mounted under its own
    name, not the workspace's host-name-safe one (which stays for NAME.podbay)."""

    def case(project: Path, image: str) -> None:
        config: dict[str, Any] = {"image": image, "containerEnv": FOLDER_ENV}
        if folder_setting:
            config["workspaceFolder"] = folder_setting
        write_config(project, config)
        (project / "README").write_text("mine\n")

    outcome = both(case, IMAGE, name=name, probe=FOLDER_PROBE)
    assert outcome.mine == outcome.theirs
    assert outcome.mine[0] == f"cwd=/workspaces/{name} mounted={name}"
    assert f"local={name} container={name} folder=/workspaces/{name}" in outcome.mine[1]
    assert "README" in outcome.mine[2]


def test_a_subfolder_of_a_git_repository_mounts_the_repository(both: Any, podbay: Podbay) -> None:
    """The reference CLI's git-root rule: the repository is mounted, the work starts in the
    subfolder, and git works inside (its .git is there)."""

    def case(root: Path, image: str) -> None:
        web = root / "packages" / "web"
        write_config(web, {"image": image, "containerEnv": FOLDER_ENV})
        (root / "top.txt").write_text("top\n")
        subprocess.run(["git", "init", "-q", str(root)], check=True)

    probe = FOLDER_PROBE + "echo\ngit rev-parse --show-toplevel --show-prefix\n"
    outcome = both(case, IMAGE, name="Mono", inside="packages/web", probe=probe)
    assert outcome.mine == outcome.theirs
    assert outcome.mine[0] == "cwd=/workspaces/Mono/packages/web mounted=Mono"
    assert "local=web container=web folder=/workspaces/Mono/packages/web" in outcome.mine[1]
    assert outcome.mine[-2:] == ["/workspaces/Mono", "packages/web/"]  # git works inside
    # The opt-out is for a workspace being made: this one says so instead of ignoring it.
    again = podbay("up", str(outcome.my_folder), "--no-git-root")
    assert again.returncode != 0 and "applies to a workspace being made" in again.stderr


def test_a_subfolder_of_a_git_repository_alone_with_the_opt_out(both: Any) -> None:
    """`up --no-git-root`, as the reference CLI's `--mount-workspace-git-root false`: the
    folder is mounted alone, under its own name."""

    def case(root: Path, image: str) -> None:
        web = root / "packages" / "web"
        write_config(web, {"image": image, "containerEnv": FOLDER_ENV})
        (root / "top.txt").write_text("top\n")
        subprocess.run(["git", "init", "-q", str(root)], check=True)

    outcome = both(
        case, IMAGE, name="Mono2", inside="packages/web", probe=FOLDER_PROBE,
        ref_args=("--mount-workspace-git-root", "false"), our_args=("--no-git-root",),
    )  # fmt: skip
    assert outcome.mine == outcome.theirs
    assert outcome.mine[0] == "cwd=/workspaces/web mounted=web"


def test_the_specs_order_of_config_locations(both: Any) -> None:
    """.devcontainer/devcontainer.json wins over .devcontainer.json, without a question."""

    def case(project: Path, image: str) -> None:
        write_config(project, {"image": image, "containerEnv": {"WHICH": "folder"}})
        write_config(project, {"image": image, "containerEnv": {"WHICH": "dot"}}, "")

    outcome = both(case, IMAGE, probe=FOLDER_PROBE)
    assert outcome.mine == outcome.theirs
    assert "which=folder" in outcome.mine[1]


def test_a_feature_manifest_with_comments(both: Any) -> None:
    """devcontainer-feature.json is JSONC, as the spec writes it and the reference reads it."""

    def case(project: Path, image: str) -> None:
        folder = project / ".devcontainer" / "commented"
        folder.mkdir(parents=True)
        (folder / "devcontainer-feature.json").write_text(
            '// a feature\n{\n  "id": "commented", /* its id */\n  "options": {\n'
            '    "word": {"type": "string", "default": "kept"}, // trailing comma next\n  },\n}\n'
        )
        (folder / "install.sh").write_text('#!/bin/sh\necho "$WORD" > /usr/local/hello\n')
        write_config(project, {"image": image, "features": {"./commented": {}}})

    outcome = both(case, IMAGE)
    assert outcome.mine == outcome.theirs
    assert "file /usr/local/hello: kept" in outcome.mine


def test_one_feature_required_twice_with_different_options(
    both: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two features each depend on `dep` with their own options, and the user asks for `dep`
    too: three instances ready in one round, ordered by the reference's rule."""
    root = tmp_path_factory.mktemp("twice")
    with start_registry(root / "registry") as registry:
        reg = "localhost:" + registry.address.rsplit(":", 1)[1]
        dep = write_feature(
            root / "dep",
            {"id": "dep", "version": "1.0.0",
             "options": {"v": {"type": "string", "default": "d"},
                         "w": {"type": "string", "default": "-"}}},
            'echo "dep v=$V w=$W" >> /usr/local/first\n',
        )  # fmt: skip
        push_feature(registry, "podbay/dep", ["1"], dep)
        for user, options in (("one", {"v": "b"}), ("two", {"v": "a", "w": "x"})):
            folder = write_feature(
                root / user,
                {"id": user, "version": "1.0.0",
                 "dependsOn": {f"{reg}/podbay/dep:1": options}},
                f"echo {user} >> /usr/local/first\n",
            )  # fmt: skip
            push_feature(registry, f"podbay/{user}", ["1"], folder)

        def case(project: Path, image: str) -> None:
            features = {
                f"{reg}/podbay/two:1": {},
                f"{reg}/podbay/one:1": {},
                f"{reg}/podbay/dep:1": {"v": "c"},
            }
            write_config(project, {"image": image, "features": features})

        outcome = both(case, IMAGE, probe="tr '\\n' ' ' < /usr/local/first")
    assert outcome.mine == outcome.theirs
    # Fewer options first, then by value (sorting the options' JSON text put v=a first).
    assert outcome.mine == ["dep v=b w=- dep v=c w=- dep v=a w=x one two "]
