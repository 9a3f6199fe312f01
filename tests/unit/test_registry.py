"""Registry credentials, challenges and the lockfile's form (servers: tests/docker)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from core import features_fetch
from core.errors import ConfigError
from core.registry import FeatureFetchError, Registry, credentials, parse_challenge, scheme_for


def test_plain_http_only_for_this_computer() -> None:
    assert scheme_for("localhost:5000") == "http"
    assert scheme_for("127.0.0.1:5000") == "http"
    assert scheme_for("[::1]:5000") == "http"
    assert scheme_for("registry.example") == "https"
    assert scheme_for("10.0.0.5:5000") == "https"
    with pytest.raises(FeatureFetchError) as info:
        Registry({}).tarball("http://example.org/devcontainer-feature-x.tgz")
    assert "plain HTTP" in info.value.message and "https://" in info.value.hint


def test_challenge_parameters() -> None:
    kind, params = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'
    )
    assert kind == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull",
    }
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


def test_credentials_in_the_reference_order(tmp_path: Path) -> None:
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"from-config:pw1").decode()
    (config / "config.json").write_text(
        json.dumps({"auths": {"https://reg.example": {"auth": auth}}})
    )
    env = {"DOCKER_CONFIG": str(config), "HOME": str(tmp_path)}
    assert credentials("reg.example", env) == ("from-config", "pw1")
    assert credentials("other.example", env) is None
    env["DEVCONTAINERS_OCI_AUTH"] = "x.example|u|t,reg.example|from-env|pw2"
    assert credentials("reg.example", env) == ("from-env", "pw2")


def test_credential_helpers_are_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(
        '#!/bin/sh\nread reg\necho "{\\"Username\\": \\"helped\\", \\"Secret\\": \\"for-$reg\\"}"\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"credHelpers": {"reg.example": "fake"}}))
    env = {"DOCKER_CONFIG": str(config)}
    assert credentials("reg.example", env) == ("helped", "for-reg.example")
    assert credentials("unhelped.example", env) is None


def test_lockfile_is_written_as_the_reference_cli_writes_it(tmp_path: Path) -> None:
    entries = {
        "reg.example/b/y:1": {"version": "1.0.0", "resolved": "r", "integrity": "sha256:1"},
        "reg.example/a/x:2": {"version": "2.0.0", "resolved": "s", "integrity": "sha256:2"},
    }
    text = features_fetch.render_lockfile(entries)
    assert text.endswith("}\n")
    assert list(json.loads(text)["features"]) == ["reg.example/a/x:2", "reg.example/b/y:1"]
    assert '\n  "features": {\n    "reg.example/a/x:2": {\n      "version": "2.0.0",' in text
    path = tmp_path / "devcontainer-lock.json"
    path.write_text(text)
    assert features_fetch.read_lockfile(path) == entries
    assert features_fetch.lockfile_path(tmp_path / ".devcontainer.json").name == (
        ".devcontainer-lock.json"
    )
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a feature lockfile"):
        features_fetch.read_lockfile(path)
