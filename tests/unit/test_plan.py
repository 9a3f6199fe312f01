from __future__ import annotations

import json
from typing import Any

import pytest

from core.devcontainer.plan import PlanContext, hook_argvs, make_plan, resolve_container_env
from core.errors import ConfigError

CTX = PlanContext(
    name="proj",
    local_folder="/src/proj",
    config_file="/src/proj/.devcontainer/devcontainer.json",
    container_name="podbay-proj-abc123",
    labels={"dev.podbay.home": "abc123", "dev.podbay.workspace": "proj"},
    env={"HOME": "/home/u"},
)


def flags(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def test_image_config_becomes_a_create_command() -> None:
    plan = make_plan(
        {
            "image": "debian:bookworm",
            "containerEnv": {"A": "1", "HOME_COPY": "${localEnv:HOME}"},
            "containerUser": "dev",
            "remoteUser": "me",
            "runArgs": ["--hostname", "box", "--shm-size=1g"],
            "mounts": [
                "type=volume,source=cache-${devcontainerId},target=/cache",
                {"type": "bind", "source": "/tmp", "target": "/host-tmp"},
                {"type": "volume", "target": "/anon"},
            ],
            "capAdd": ["SYS_PTRACE"],
            "init": True,
        },
        CTX,
    )
    args = plan.create_args
    assert args[:2] == ["--name", "podbay-proj-abc123"]
    assert flags(args, "--mount") == [
        "type=bind,source=/src/proj,target=/workspaces/proj",
        f"type=volume,source=cache-{plan.devcontainer_id},target=/cache",
        "type=bind,source=/tmp,target=/host-tmp",
        "type=volume,target=/anon",
    ]
    assert flags(args, "-e") == ["A=1", "HOME_COPY=/home/u"]
    assert flags(args, "-u") == ["dev"]
    assert "--init" in args and flags(args, "--cap-add") == ["SYS_PTRACE"]
    # runArgs come after podbay's own flags, so they can override them (as with the reference CLI).
    assert args.index("--hostname") > args.index("-u")
    # The image, then the keep-alive command.
    assert args[-3:-1] == ["debian:bookworm", "-c"]
    assert plan.workspace_folder == "/workspaces/proj"
    assert plan.remote_user == "me"


def test_interop_labels() -> None:
    plan = make_plan({"image": "x", "postCreateCommand": "echo ${localEnv:HOME}"}, CTX)
    labels = dict(item.split("=", 1) for item in flags(plan.create_args, "--label"))
    assert labels["devcontainer.local_folder"] == "/src/proj"
    assert labels["devcontainer.config_file"] == "/src/proj/.devcontainer/devcontainer.json"
    assert labels["dev.podbay.workspace"] == "proj"
    # The metadata label keeps the raw (unsubstituted) values, as the spec says.
    assert json.loads(labels["devcontainer.metadata"]) == [
        {"postCreateCommand": "echo ${localEnv:HOME}"}
    ]


def test_workspace_folder_and_mount_overrides() -> None:
    plan = make_plan(
        {
            "image": "x",
            "workspaceFolder": "/code/${localWorkspaceFolderBasename}",
            "workspaceMount": "type=bind,source=${localWorkspaceFolder},target=/code/proj",
            "postStartCommand": "cd ${containerWorkspaceFolder}",
        },
        CTX,
    )
    assert plan.workspace_folder == "/code/proj"
    assert flags(plan.create_args, "--mount") == ["type=bind,source=/src/proj,target=/code/proj"]
    assert plan.hooks["postStartCommand"] == "cd /code/proj"


def test_empty_workspace_mount_means_none() -> None:
    plan = make_plan({"image": "x", "workspaceMount": ""}, CTX)
    assert flags(plan.create_args, "--mount") == []


def test_paths_with_commas_are_quoted_for_docker() -> None:
    ctx = CTX.model_copy(update={"local_folder": "/src/a,b"})
    plan = make_plan({"image": "x"}, ctx)
    assert flags(plan.create_args, "--mount") == [
        'type=bind,"source=/src/a,b",target=/workspaces/proj'
    ]


def test_override_command_false_keeps_the_image_command() -> None:
    plan = make_plan({"image": "x", "overrideCommand": False}, CTX)
    assert "--entrypoint" not in plan.create_args
    assert plan.create_args[-1] == "x"


def test_remote_env_gets_container_values_after_start() -> None:
    plan = make_plan(
        {"image": "x", "remoteEnv": {"P": "${containerEnv:PATH}:/extra", "GONE": None}}, CTX
    )
    resolved = resolve_container_env(plan, {"PATH": "/usr/bin"})
    assert resolved.remote_env == {"P": "/usr/bin:/extra", "GONE": None}


def test_same_config_same_hash_and_changes_change_it() -> None:
    a = make_plan({"image": "x"}, CTX)
    assert make_plan({"image": "x"}, CTX).config_hash == a.config_hash
    assert make_plan({"image": "y"}, CTX).config_hash != a.config_hash


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"build": {"dockerfile": "Dockerfile"}}, "Dockerfile builds"),
        ({"dockerComposeFile": "c.yml", "service": "s"}, "Docker Compose"),
        ({"image": "x", "features": {"ghcr.io/a/b:1": {}}}, "features"),
        ({"name": "no image"}, "names no image"),
    ],
)
def test_what_this_version_cannot_do_is_said(raw: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_plan(raw, CTX)
    assert words in info.value.message
    assert info.value.hint


def test_hook_forms() -> None:
    assert hook_argvs("echo hi") == [(None, ["/bin/sh", "-c", "echo hi"])]
    assert hook_argvs(["echo", "a b"]) == [(None, ["echo", "a b"])]
    assert hook_argvs({"x": "a", "y": ["b", "c"]}) == [
        ("x", ["/bin/sh", "-c", "a"]),
        ("y", ["b", "c"]),
    ]
    assert hook_argvs("") == [] and hook_argvs([]) == [] and hook_argvs({}) == []
