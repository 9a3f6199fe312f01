from __future__ import annotations

import json
from typing import Any

import pytest

from podbay.core.devcontainer import host_requirements
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.features import FeatureJson
from podbay.core.devcontainer.plan import (
    BaseImage,
    Plan,
    PlanContext,
    hook_argvs,
    resolve_container_env,
)
from podbay.core.errors import ConfigError

CTX = PlanContext(
    name="proj",
    local_folder="/src/proj",
    config_file="/src/proj/.devcontainer/devcontainer.json",
    container_name="podbay-proj-abc123",
    labels={"dev.podbay.home": "abc123", "dev.podbay.workspace": "proj"},
    env={"HOME": "/home/u"},
    image_name="podbay-proj-abc123",
)


def make_plan(raw: dict[str, Any], ctx: PlanContext, base: BaseImage | None = None) -> Plan:
    resolved = dcplan.resolve(raw, ctx)
    return dcplan.make_plan(resolved, base or BaseImage(name=str(raw.get("image"))), [], ctx)


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
    assert args[-4:-2] == ["debian:bookworm", "-c"]
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
    assert plan.hooks["postStartCommand"][0].command == "cd /code/proj"


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
        ({"dockerComposeFile": "c.yml"}, "has dockerComposeFile but no service"),
        ({"name": "no image"}, "names no image and no Dockerfile"),
    ],
)
def test_configs_that_cannot_work_are_explained(raw: dict[str, Any], words: str) -> None:
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


def test_image_metadata_sets_the_remote_user_and_hooks_run_image_first() -> None:
    base = BaseImage(
        name="x",
        user="",
        metadata=[{"remoteUser": "vscode", "postCreateCommand": "echo image"}],
    )
    plan = make_plan({"image": "x", "postCreateCommand": "echo mine"}, CTX, base)
    assert plan.remote_user == "vscode"
    assert [(c.origin, c.command) for c in plan.hooks["postCreateCommand"]] == [
        ("the image", "echo image"),
        ("devcontainer.json", "echo mine"),
    ]
    # No build: the merged metadata goes on the container, raw, image entries first.
    labels = dict(item.split("=", 1) for item in flags(plan.create_args, "--label"))
    assert json.loads(labels["devcontainer.metadata"]) == [
        {"remoteUser": "vscode", "postCreateCommand": "echo image"},
        {"postCreateCommand": "echo mine"},
    ]
    assert plan.extension is None and plan.image == "x"


def feature(key: str, **manifest: Any) -> dcplan.Feature:
    return dcplan.Feature(
        key=key,
        folder=f"/src/proj/.devcontainer/{key}",
        manifest=FeatureJson.model_validate({"id": key.strip("./"), **manifest}),
        options={},
        digest="sha256:0",
    )


def test_features_are_built_one_step_each_on_top_of_the_base() -> None:
    ctx = CTX.model_copy(update={"source_owner": (1000, 1000)})
    resolved = dcplan.resolve({"image": "x", "remoteUser": "dev"}, ctx)
    features = [
        feature("./a", containerEnv={"PATH": "/opt/a:${PATH}"}, privileged=True),
        feature("./b", entrypoint="/usr/local/share/b-init.sh"),
    ]
    plan = dcplan.make_plan(resolved, BaseImage(name="x", user="app"), features, ctx)
    assert plan.extension is not None and plan.image == "podbay-proj-abc123:dev"
    lines = plan.extension.dockerfile.splitlines()
    assert lines[:2] == ["FROM x", "USER root"]
    assert 'ENV PATH="/opt/a:${PATH}"' in lines
    copies = [line for line in lines if line.startswith("COPY ")]
    assert copies == [
        "COPY 0-a/ /tmp/podbay-features/0-a/",
        "COPY 1-b/ /tmp/podbay-features/1-b/",
        "COPY podbay-update-uid.sh /tmp/podbay-update-uid.sh",
    ]
    assert lines[-1] == "USER app"  # the image's own user again
    assert plan.extension.stages[0].builtin == "_REMOTE_USER=dev\n_CONTAINER_USER=app\n"
    assert "--privileged" in plan.create_args
    assert "/usr/local/share/b-init.sh" in plan.create_args[-2]


def test_no_uid_update_for_root_or_when_turned_off() -> None:
    for raw, owner in (
        ({"image": "x", "remoteUser": "dev"}, (0, 0)),
        ({"image": "x", "remoteUser": "root"}, (1000, 1000)),
        ({"image": "x", "remoteUser": "dev", "updateRemoteUserUID": False}, (1000, 1000)),
    ):
        ctx = CTX.model_copy(update={"source_owner": owner})
        plan = dcplan.make_plan(dcplan.resolve(raw, ctx), BaseImage(name="x"), [], ctx)
        assert plan.extension is None, raw


def test_dockerfile_builds_use_the_config_folder_and_all_settings() -> None:
    resolved = dcplan.resolve(
        {
            "build": {
                "dockerfile": "Dockerfile",
                "context": "..",
                "args": {"V": "${localEnv:HOME}"},
                "target": "dev",
                "cacheFrom": "cache:1",
                "options": ["--network=host"],
            }
        },
        CTX,
    )
    assert resolved.image is None and resolved.build is not None
    assert resolved.build.argv({"k": "v"}) == [
        "build", "-f", "Dockerfile", "-t", "podbay-proj-abc123:build",
        "--build-arg", "V=/home/u", "--target", "dev", "--cache-from", "cache:1",
        "--label", "k=v", "--network=host", "..",
    ]  # fmt: skip


def test_fingerprint_names_what_changed() -> None:
    a = dcplan.resolve({"image": "x", "containerEnv": {"A": "1"}}, CTX).fingerprint
    b = dcplan.resolve({"image": "x", "containerEnv": {"A": "2"}, "init": True}, CTX).fingerprint
    assert dcplan.changed_parts(a, b) == ["containerEnv", "init"]


def test_host_requirements_beyond_the_machine_are_warned_about() -> None:
    machine = host_requirements.Machine(cpus=2, memory=4 * 1024**3, free=10 * 1024**3)
    wanted = {"cpus": 8, "memory": 16 * 1024**3, "storage": 64 * 1024**3}
    assert host_requirements.host_shortfalls(wanted, machine) == [
        "hostRequirements asks for 8 CPUs; this machine has 2",
        "hostRequirements asks for 16 GB of memory; this machine has 4 GB",
        "hostRequirements asks for 64 GB of storage; 10 GB is free",
    ]
    enough = {"cpus": 2, "memory": 4 * 1024**3, "storage": 1024**3}
    assert host_requirements.host_shortfalls(enough, machine) == []
    unknown_disk = machine.model_copy(update={"free": None})
    assert host_requirements.host_shortfalls({"storage": 1024**4}, unknown_disk) == []


def test_compose_service_settings_escape_dollars_and_keep_the_command() -> None:
    resolved = dcplan.resolve(
        {
            "dockerComposeFile": ["a.yml", "b.yml"],
            "service": "app",
            "runServices": ["db"],
            "containerEnv": {"PRICE": "$5"},
            "mounts": ["type=volume,source=cache,target=/cache,readonly"],
            "capAdd": ["SYS_PTRACE"],
        },
        CTX,
    )
    assert resolved.compose is not None and resolved.compose.files == ["a.yml", "b.yml"]
    assert resolved.workspace_folder == "/"  # the spec's default for compose
    plan = dcplan.make_plan(resolved, BaseImage(name="base"), [], CTX)
    service = plan.compose_service
    assert service is not None
    assert service["environment"] == {"PRICE": "$$5"}
    assert service["volumes"] == [
        {"type": "volume", "source": "cache", "target": "/cache", "read_only": True}
    ]
    assert service["cap_add"] == ["SYS_PTRACE"]
    assert "entrypoint" not in service  # overrideCommand defaults to false for compose
    assert service["container_name"] == CTX.container_name
