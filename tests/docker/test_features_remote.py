"""OCI and tarball features from real servers on 127.0.0.1: docker-registry (anonymous and
behind token auth) and a static file server; the lockfile, the cache and offline rebuilds."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import IMAGE, Podbay, write_config
from tests.registries import (
    PASSWORD,
    USER,
    feature_tgz,
    push_feature,
    serve_folder,
    start_registry,
    write_feature,
)

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None, reason="docker-registry is not installed"
)


def hello_feature(root: Path, version: str, base_key: str) -> Path:
    return write_feature(
        root / f"hello-{version}",
        {
            "id": "hello",
            "version": version,
            "options": {"greeting": {"type": "string", "default": "hello"}},
            "dependsOn": {base_key: {}},
        },
        f'test -f /usr/local/base\necho "$GREETING from hello {version}" > /usr/local/hello\n',
    )


def test_oci_and_tarball_features_are_locked_cached_and_rebuilt_offline(
    podbay: Podbay, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    tarball = write_feature(tmp_path / "tarf", {"id": "tarf", "version": "0.3.0"}, "echo t > /t\n")
    (served / "devcontainer-feature-tarf.tgz").write_bytes(feature_tgz(tarball))
    with start_registry(tmp_path / "registry") as registry, serve_folder(served) as url:
        reg = registry.address
        base = write_feature(
            tmp_path / "base", {"id": "base", "version": "2.0.0"}, "touch /usr/local/base\n"
        )
        push_feature(registry, "podbay/base", ["2"], base)
        first = push_feature(
            registry,
            "podbay/hello",
            ["1", "1.0.0"],
            hello_feature(tmp_path, "1.0.0", f"{reg}/podbay/base:2"),
        )
        project = podbay.cwd / "remote"
        tar_url = f"{url}/devcontainer-feature-tarf.tgz"
        write_config(
            project,
            {
                "image": IMAGE,
                "features": {f"{reg}/podbay/hello:1": {"greeting": "hi"}, tar_url: {}},
            },
        )
        up = podbay.ok("up", "remote")
        assert "wrote devcontainer-lock.json" in up.stderr
        assert podbay.ok("exec", "remote", "--", "cat", "/usr/local/hello", "/t").stdout == (
            "hi from hello 1.0.0\nt\n"
        )
        lock_file = project / ".devcontainer" / "devcontainer-lock.json"
        lock = json.loads(lock_file.read_text())["features"]
        assert sorted(lock) == sorted([f"{reg}/podbay/base:2", f"{reg}/podbay/hello:1", tar_url])
        assert lock[f"{reg}/podbay/hello:1"] == {
            "version": "1.0.0",
            "resolved": f"{reg}/podbay/hello@{first}",
            "integrity": first,
            "dependsOn": [f"{reg}/podbay/base:2"],
        }
        assert lock[tar_url]["resolved"] == tar_url and lock[tar_url]["version"] == "0.3.0"

        # A newer release under the same tag does not change what the lockfile pinned.
        push_feature(
            registry,
            "podbay/hello",
            ["1"],
            hello_feature(tmp_path, "1.0.1", f"{reg}/podbay/base:2"),
        )
        podbay.ok("up", "remote", "--rebuild")
        out = podbay.ok("exec", "remote", "--", "cat", "/usr/local/hello").stdout
        assert out == "hi from hello 1.0.0\n"

    # Registry and file server gone: the lockfile and the cache are enough.
    offline = podbay.ok("up", "remote", "--rebuild")
    assert "offline" not in offline.stderr
    assert podbay.ok("exec", "remote", "--", "cat", "/usr/local/hello").stdout == (
        "hi from hello 1.0.0\n"
    )
    # Without the lockfile, the last download of each tag or URL is used, and said so.
    lock_file.unlink()
    fallback = podbay.ok("up", "remote", "--rebuild")
    assert f"feature '{reg}/podbay/hello:1': offline, using the copy downloaded before" in (
        fallback.stderr
    )
    assert json.loads(lock_file.read_text())["features"][f"{reg}/podbay/hello:1"]["integrity"] == (
        first
    )
    # And with nothing downloaded before, the error says what is unreachable.
    shutil.rmtree(podbay.home / "features")
    failed = podbay("up", "remote", "--rebuild")
    assert failed.returncode != 0
    assert f"cannot reach {reg}" in failed.stderr and "Traceback" not in failed.stderr


def test_a_changed_tarball_is_refused_against_the_lockfile(podbay: Podbay, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    tgz = served / "devcontainer-feature-tarf.tgz"
    tgz.write_bytes(feature_tgz(write_feature(tmp_path / "a", {"id": "tarf"}, "echo a > /t\n")))
    with serve_folder(served) as url:
        write_config(podbay.cwd / "pinned", {"image": IMAGE, "features": {f"{url}/{tgz.name}": {}}})
        podbay.ok("up", "pinned")
        # The file behind the URL changes; a teammate without the download in cache builds.
        tgz.write_bytes(feature_tgz(write_feature(tmp_path / "b", {"id": "tarf"}, "echo b > /t\n")))
        shutil.rmtree(podbay.home / "features")
        refused = podbay("up", "pinned", "--rebuild")
    assert refused.returncode != 0
    assert "changed since devcontainer-lock.json was written" in refused.stderr
    assert "delete its entry" in refused.stderr


def test_a_pin_podbay_cannot_check_is_refused_not_replaced(podbay: Podbay, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    tgz = served / "devcontainer-feature-evil.tgz"
    tgz.write_bytes(feature_tgz(write_feature(tmp_path / "a", {"id": "evil"}, "echo a > /t\n")))
    with serve_folder(served) as url:
        key = f"{url}/{tgz.name}"
        config = write_config(podbay.cwd / "md5", {"image": IMAGE, "features": {key: {}}})
        lock = config.with_name("devcontainer-lock.json")
        text = json.dumps({"features": {key: {"resolved": key, "integrity": "md5:abc"}}})
        lock.write_text(text)
        result = podbay("up", "md5")
    assert result.returncode == 1
    assert "integrity 'md5:abc', which podbay cannot check" in result.stderr
    assert lock.read_text() == text  # the pin is still there


def test_a_private_registry_takes_the_docker_login(podbay: Podbay, tmp_path: Path) -> None:
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    env = {"DOCKER_CONFIG": str(docker_config)}
    with start_registry(tmp_path / "registry", token_auth=True) as registry:
        assert registry.token is not None
        secret = write_feature(tmp_path / "secret", {"id": "secret"}, "echo s > /secret\n")
        push_feature(registry, "podbay/secret", ["1"], secret)
        write_config(
            podbay.cwd / "private",
            {"image": IMAGE, "features": {f"{registry.address}/podbay/secret:1": {}}},
        )
        refused = podbay("up", "private", env=env)
        assert refused.returncode != 0
        assert (
            f"{registry.address} refused access to podbay/secret without credentials"
            in refused.stderr
        )
        assert f"docker login {registry.address}" in refused.stderr

        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (docker_config / "config.json").write_text(
            json.dumps({"auths": {registry.address: {"auth": auth}}})
        )
        podbay.ok("up", "private", env=env)
        assert podbay.ok("exec", "private", "--", "cat", "/secret").stdout == "s\n"
        # The credentials went to the token service (on this computer), not to the registry.
        assert USER in [r["user"] for r in registry.token.requests]
