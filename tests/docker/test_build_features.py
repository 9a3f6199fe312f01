"""Dockerfile builds, local features, image metadata and the UID update, on a real engine."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import IMAGE, Podbay, write_config

DOCKERFILE = f"""\
ARG BASE={IMAGE}
FROM ${{BASE}} AS other
RUN echo other > /other
FROM ${{BASE}} AS dev
ARG GREETING=none
RUN echo "$GREETING" > /greeting && useradd -m -u 1234 -s /bin/bash dev
LABEL devcontainer.metadata='{{"remoteUser":"dev","postCreateCommand":"echo image >> /tmp/order"}}'
"""


def add_feature(project: Path, name: str, manifest: dict[str, object], install: str) -> None:
    folder = project / ".devcontainer" / name
    folder.mkdir(parents=True)
    (folder / "devcontainer-feature.json").write_text(json.dumps({"id": name, **manifest}))
    (folder / "install.sh").write_text("#!/bin/sh\nset -e\n" + install)


def feature_project(podbay: Podbay, name: str, options: dict[str, str]) -> Path:
    project = podbay.cwd / name
    add_feature(
        project,
        "first",
        {"options": {"greeting": {"type": "string", "default": "hey"}}},
        'echo "first installs as $(id -un), for $_REMOTE_USER ($_REMOTE_USER_HOME)"\n'
        'echo "$GREETING" > /usr/local/first\n',
    )
    add_feature(
        project,
        "second",
        {
            "options": {"who": {"type": "string", "default": "moon"}},
            "installsAfter": ["./first"],
            "containerEnv": {"SECOND_HOME": "/opt/second"},
            "postCreateCommand": "echo second >> /tmp/order",
        },
        'echo "second installs for $WHO"\necho "$WHO after $(cat /usr/local/first)" > /opt/w\n',
    )
    (project / ".devcontainer" / "Dockerfile").write_text(DOCKERFILE)
    write_config(
        project,
        {
            "build": {
                "dockerfile": "Dockerfile",
                "target": "dev",
                "args": {"GREETING": "hi ${localEnv:PODBAY_TEST_GREETING:a:b}"},
            },
            # Listed out of order on purpose: installsAfter puts ./first first.
            "features": {"./second": options, "./first": {}},
            "postCreateCommand": "echo config >> /tmp/order",
        },
    )
    return project


def test_dockerfile_features_and_image_metadata_together(podbay: Podbay) -> None:
    feature_project(podbay, "feat", {"who": "earth"})
    up = podbay.ok("up", "feat")
    assert "building the image from Dockerfile" in up.stderr
    assert "installing features: first, second" in up.stderr
    assert "first installs as root, for dev (/home/dev)" in up.stderr

    script = 'id -un; cat /greeting /opt/w /tmp/order; echo "$SECOND_HOME"; ls /other'
    inside = podbay("exec", "feat", "--", "sh", "-c", script).stdout.splitlines()
    assert inside == [
        "dev",  # remoteUser from the image's metadata label
        "hi a:b",  # build arg with a default that holds a ':'
        "earth after hey",  # options, defaults, and the order installsAfter asks for
        "image",  # hooks: the image's, then each feature's, then the config's
        "second",
        "config",
        "/opt/second",  # a feature's containerEnv
    ]  # and not a file of the other stage: the target was built
    assert podbay.status("feat")["remoteUser"] == "dev"


def test_changing_one_feature_rebuilds_from_it_on(podbay: Podbay) -> None:
    project = feature_project(podbay, "again", {"who": "earth"})
    podbay.ok("up", "again")
    config = project / ".devcontainer" / "devcontainer.json"
    config.write_text(config.read_text().replace('"earth"', '"mars"'))

    noticed = podbay.ok("up", "again")
    assert "config changed since this container was made (features)" in noticed.stderr
    assert "podbay up again --rebuild" in noticed.stderr

    rebuilt = podbay.ok("up", "again", "--rebuild")
    assert "second installs for mars" in rebuilt.stderr
    assert "first installs" not in rebuilt.stderr  # the feature before it came from cache
    assert "building the image" in rebuilt.stderr
    out = podbay.ok("exec", "again", "--", "cat", "/opt/w").stdout
    assert out == "mars after hey\n"
    # The once-hooks ran again in the new container, once each.
    order = podbay.ok("exec", "again", "--", "cat", "/tmp/order").stdout.split()
    assert order == ["image", "second", "config"]

    # No change at all: nothing said, nothing rebuilt.
    quiet = podbay.ok("up", "again")
    assert "changed" not in quiet.stderr and "installing features" not in quiet.stderr


def test_remote_user_gets_the_uid_that_owns_the_source(podbay: Podbay) -> None:
    project = podbay.cwd / "owned"
    (project / ".devcontainer").mkdir(parents=True)
    (project / ".devcontainer" / "Dockerfile").write_text(
        f"FROM {IMAGE}\nRUN useradd -m -u 1234 -s /bin/bash dev && touch /home/dev/mine\n"
    )
    write_config(project, {"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev"})
    os.chown(project, 4321, 4321)
    podbay.ok("up", "owned")
    out = podbay.ok(
        "exec", "owned", "--", "sh", "-c", "id -u; id -g; stat -c %u /home/dev/mine; touch x"
    )
    assert out.stdout.split() == ["4321", "4321", "4321"]
    # The user writes into the source as its owner.
    assert (project / "x").stat().st_uid == 4321


def test_delete_removes_the_images_it_built(podbay: Podbay) -> None:
    import docker

    feature_project(podbay, "gone", {})
    podbay.ok("up", "gone")
    client = docker.from_env()
    built = [t for i in client.images.list() for t in i.tags if t.startswith("podbay-gone-")]
    assert sorted(t.rsplit(":", 1)[1] for t in built) == ["build", "dev"]
    podbay.ok("delete", "gone", "--yes")
    left = [t for i in client.images.list() for t in i.tags if t.startswith("podbay-gone-")]
    assert left == []
