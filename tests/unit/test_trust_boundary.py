"""Untrusted values (configs, image labels, feature manifests, SOURCE, names) are checked where
they enter; what podbay renders from them parses back to exactly what was meant.

The reliability probe's S1, S4, U4, U6, U7, U9, X2, X5, X6 at the unit level; the ssh_config
oracle is in test_ssh_config_render.py.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podbay.core import source as sources
from podbay.core.devcontainer import features, find, jsonc, metadata
from podbay.core.devcontainer.values import check_user
from podbay.core.errors import ConfigError, ConfigNotFound, PodbayError, SourceError
from podbay.core.model import Source, redact_url

hostile = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from(list("\n\r\t\0 \"'$`\\;")),
    max_size=40,
)


@given(hostile)
def test_a_user_is_a_plain_name_or_refused(value: str) -> None:
    try:
        checked = check_user(value, "remoteUser", "the image")
    except ConfigError as exc:
        assert "(from the image) is not a user name" in exc.message
        assert "\n" not in exc.message  # shown as one line, control characters escaped
        return
    assert checked == value
    # A trailing $ (machine accounts) is the one character beyond [A-Za-z0-9._-:].
    assert not any(c.isspace() or c in "\"'\\;`#%" or ord(c) < 32 for c in value)
    assert "$" not in value.replace("$:", ":").removesuffix("$")


def test_an_image_label_cannot_smuggle_a_user_or_environment() -> None:
    image = {metadata.ORIGIN: "the image", "remoteUser": "root\nHost *\n  ProxyCommand x"}
    with pytest.raises(ConfigError) as info:
        metadata.merge([image])
    assert "remoteUser" in info.value.message and "(from the image)" in info.value.message
    for env in ({"A": "x\x00y"}, {"": "x"}, {"A=B": "x"}):
        with pytest.raises(ConfigError):
            metadata.merge([{"containerEnv": env}])
    assert metadata.merge([{"remoteUser": "vscode", "containerUser": "1000:1000"}]).remoteUser == (
        "vscode"
    )
    with pytest.raises(ConfigError, match="bad port"):
        metadata.merge([{"forwardPorts": ["::::"]}])


def test_a_feature_cannot_write_dockerfile_lines_through_its_environment() -> None:
    manifest = {"id": "x", "containerEnv": {"A\nRUN touch /pwned": "1"}}
    with pytest.raises(ValueError, match="not a variable name"):
        features.FeatureJson.model_validate(manifest)


@pytest.mark.parametrize(
    "key",
    [
        "ghcr.io/a/b:1;touch x",
        "ghcr.io/../../etc/passwd:1",
        "ghcr.io/a/b:1\nRUN x",
        "ghcr.io/a/$(id)/b:1",
        "ghcr.io/a/b:-x",
    ],
)
def test_feature_references_are_checked_before_the_network(key: str) -> None:
    with pytest.raises(ConfigError):
        features.parse_ref(key)


def test_valid_feature_references_still_parse() -> None:
    ref = features.parse_ref("ghcr.io/devcontainers/features/node:1.2")
    assert (ref.registry, ref.path, ref.tag) == ("ghcr.io", "devcontainers/features/node", "1.2")
    assert features.parse_ref("localhost:5000/podbay/hello:1").tag == "1"


def test_deep_nesting_is_an_error_with_its_place_not_a_recursion_error() -> None:
    text = '{"customizations": ' + '{"a": ' * 500 + "1" + "}" * 501
    with pytest.raises(ConfigError) as info:
        jsonc.parse(text, "devcontainer.json")
    assert info.value.message.startswith("devcontainer.json:1:")
    assert "nested more than" in info.value.message
    deep_label = "[" * 5000 + "]" * 5000
    entries, warning = metadata.parse_label(deep_label)
    assert entries == [] and warning is not None and "nested too deeply" in warning


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:s3cretPW@127.0.0.1:8/r.git", "http://alice:***@127.0.0.1:8/r.git"),
        ("https://ghp_token@github.example/o/r.git", "https://***@github.example/o/r.git"),
        ("ssh://git@host/o/r.git", "ssh://git@host/o/r.git"),
        ("https://host/o/r.git", "https://host/o/r.git"),
        ("git@host:o/r.git", "git@host:o/r.git"),
    ],
)
def test_credentials_in_git_urls_are_never_shown(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert Source(kind="git", value=url, ref="main").display() == f"{shown}@main"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a" * 5000, "too long"),
        ("debian;touch x", "is not a folder, a git URL, a template or an image reference"),
        ("A/B:tag", "image reference"),
        ("x@sha256:zzzz", "image reference"),
        ("$(touch x)", "image reference"),
    ],
)
def test_a_source_that_is_nothing_podbay_knows_is_refused_first(
    tmp_path: Path, text: str, words: str
) -> None:
    with pytest.raises(SourceError) as info:
        sources.parse(text, cwd=tmp_path)
    assert words in info.value.message
    assert len(info.value.message) < 200


def test_images_that_are_valid_are_still_images(tmp_path: Path) -> None:
    for image in (
        "debian:bookworm",
        "127.0.0.1:5000/team/app:1",
        "registry.example/a/b@sha256:" + "a" * 64,
    ):
        assert sources.parse(image, cwd=tmp_path) == Source(kind="image", value=image)


@pytest.mark.parametrize("name", ["abc\n", "", "-a", "a_b", "A"])
def test_workspace_names_are_whole_matches(name: str) -> None:
    with pytest.raises(SourceError):
        sources.check_name(name)


def test_a_config_that_is_a_directory_or_a_broken_link_says_so(tmp_path: Path) -> None:
    (tmp_path / "d" / ".devcontainer" / "devcontainer.json").mkdir(parents=True)
    with pytest.raises(ConfigNotFound, match="is a directory"):
        find.find(tmp_path / "d")
    (tmp_path / "l" / ".devcontainer").mkdir(parents=True)
    (tmp_path / "l" / ".devcontainer" / "devcontainer.json").symlink_to(tmp_path / "gone")
    with pytest.raises(ConfigNotFound, match="is a broken symbolic link"):
        find.find(tmp_path / "l")
    with pytest.raises(ConfigNotFound, match="is a directory"):
        find.find(tmp_path / "d", ".devcontainer/devcontainer.json")


@given(st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True), hostile, max_size=4))
@settings(max_examples=50, deadline=None)
def test_feature_options_reach_the_install_script_exactly(options: dict[str, str]) -> None:
    # env_file is sourced by sh before install.sh: the shell must read back the same values.
    options = {k: v.replace("\0", "") for k, v in options.items() if k not in os.environ}
    text = features.env_file(options)
    script = "set -a; . /dev/stdin; " + "; ".join(f'printf "%s\\0" "${k}"' for k in options)
    done = subprocess.run(
        ["sh", "-c", script], input=text.encode(), capture_output=True, check=True, env={}
    )
    values = done.stdout.split(b"\0")[:-1]
    assert [v.decode() for v in values] == list(options.values())


@given(st.lists(hostile.filter(lambda s: "\0" not in s), min_size=2, max_size=4), hostile)
@settings(max_examples=50, deadline=None)
def test_a_command_given_as_words_reaches_the_shell_as_those_words(
    argv: list[str], folder: str
) -> None:
    from podbay.core.ssh.client import remote_command

    folder = folder.replace("\0", "")
    line = remote_command(folder or None, ["printf", "%s\\0", *argv])
    prefix = f"cd {shlex.quote(folder)} 2>/dev/null; " if folder else ""
    assert line.startswith(prefix)
    assert shlex.split(line.removeprefix(prefix))[1:] == ["printf", "%s\\0", *argv]


def test_a_provider_name_with_spaces_is_refused(tmp_path: Path) -> None:
    from tests.conftest import PODBAY

    done = subprocess.run(
        [PODBAY, "provider", "add", "docker", "--name", "a b;c", "--no-check"],
        capture_output=True,
        text=True,
        env={**os.environ, "PODBAY_HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 1 and "invalid provider name" in done.stderr


def test_a_json_error_keeps_podbay_errors_one_line() -> None:
    error = PodbayError(f"x {json.dumps('a')}")
    assert "\n" not in str(error)


def test_what_reaches_beyond_the_container_is_named(tmp_path: Path) -> None:
    from podbay.core.consent import container_access
    from podbay.core.devcontainer.plan import HostRequests

    folder = tmp_path / "sources" / "app"
    (folder / "sub").mkdir(parents=True)
    (folder / "root-link").symlink_to("/")
    mine = f"type=bind,source={folder},target=/workspaces/app"
    requests = HostRequests(
        mounts=[
            mine,
            "type=volume,source=cache,target=/cache",
            f"type=bind,source={folder}/sub,target=/s",
            f"type=bind,source={folder}/../../..,target=/up",  # `..` resolved
            f"type=bind,source={folder}/root-link,target=/l",  # a symlink in the repo
            "Type=bind,Source=/,Target=/host",  # docker's keys are case-insensitive
            '"source=/etc",type=bind,target=/e',  # and CSV
        ],
        privileged=True,
        cap_add=["SYS_ADMIN"],
        security_opt=["seccomp=unconfined"],
        run_args=[
            "--init", "-e", "A=--privileged", "--shm-size=1g", "-p", "8000:8000",
            "--privileged=true", "--pid=host", "--network", "host", "--net=container:x",
            "-tv", "/:/h", "--device-cgroup-rule", "b *:* rwm", "--volumes-from", "other",
            "--env-file", "/home/me/.aws/credentials", "--network=mynet",
            "--security-opt", "label=disable",
        ],
    )  # fmt: skip
    found = container_access(requests, str(folder))
    outside = str(tmp_path.parent)
    assert found == [
        "runs privileged: full access to this computer's devices and kernel",
        "adds the capability 'SYS_ADMIN'",
        "sets the security option 'seccomp=unconfined'",
        f"mounts this computer's '{folder}/../../..'",
        f"mounts this computer's '{folder}/root-link'",
        "mounts this computer's '/'",
        "mounts this computer's '/etc'",
        "shares the pid namespace of host",
        "shares the network namespace of host",
        "shares the net namespace of container:x",
        "passes docker '--device-cgroup-rule b *:* rwm', which podbay does not know to be safe",
        "passes docker '--volumes-from other', which podbay does not know to be safe",
        "reads this computer's file '/home/me/.aws/credentials'",
        "passes docker '--security-opt label=disable', which podbay does not know to be safe",
    ]
    assert outside  # the folder's parents are what `..` reaches
    assert container_access(HostRequests(mounts=[mine], run_args=["--init"]), str(folder)) == []
    # What common configs pass, and must keep passing without a question.
    harmless = HostRequests(
        mounts=[mine],
        run_args=[
            "-v", "/workspaces/app/node_modules",  # an anonymous volume
            "--cap-drop=ALL", "--security-opt", "no-new-privileges",
            "--env-file", ".devcontainer/devcontainer.env",
        ],
        security_opt=["no-new-privileges:true"],
    )  # fmt: skip
    assert container_access(harmless, str(folder)) == []
    # Ways around a simple reading of --mount (docker's last source wins; driver options).
    sneaky = HostRequests(
        mounts=[
            f"type=bind,source={folder},src=/etc,target=/x",
            "type=volume,dst=/host,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/",
        ]
    )
    found = container_access(sneaky, str(folder))
    assert found[0] == "mounts this computer's '/etc'"
    assert found[1].startswith("mounts a volume with driver options")


def test_a_build_that_reaches_beyond_the_source_is_named(tmp_path: Path) -> None:
    from podbay.core.consent import build_access
    from podbay.core.devcontainer.plan import DockerfileBuild

    folder = tmp_path / "src"
    (folder / ".devcontainer").mkdir(parents=True)
    config_dir = str(folder / ".devcontainer")
    build = DockerfileBuild(
        dockerfile="Dockerfile",
        context="../../..",
        options=["--build-arg", "A=1", "--secret", "id=a,src=/root/.aws/credentials", "--ssh",
                 "default", "-o", "type=local,dest=/root", "--network=host", "--pull"],
        tag="t",
    )  # fmt: skip
    found = build_access(build, config_dir, str(folder))
    assert found[0] == "builds with this computer's '../../..' as its build context"
    assert any("--secret" in item for item in found)
    assert any("--ssh" in item for item in found)
    assert any("-o type=local,dest=/root" in item for item in found)
    assert any("--network host" in item for item in found)
    safe = DockerfileBuild(dockerfile="Dockerfile", context="..", options=["--pull"], tag="t")
    assert build_access(safe, config_dir, str(folder)) == []
