"""Registry credentials, challenges and the lockfile's form (servers: tests/docker)."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import threading
import time
from pathlib import Path

import pytest

from podbay.core import features_fetch
from podbay.core.errors import ConfigError
from podbay.core.registry import (
    FeatureFetchError,
    Registry,
    Unreachable,
    credentials,
    parse_challenge,
    scheme_for,
)


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
    path.write_text("// pinned\n" + text.replace('"2.0.0",', '"2.0.0", /* two */'))
    assert features_fetch.read_lockfile(path) == entries  # JSONC, as every file podbay reads
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=f"^{path}:1:2: "):
        features_fetch.read_lockfile(path)
    path.write_text('{"pins": {}}')
    with pytest.raises(ConfigError, match="not a feature lockfile"):
        features_fetch.read_lockfile(path)


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Sends a large Content-Length, then one byte a second (the review's H2)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(100 * 2**20))
        self.end_headers()
        try:
            for _ in range(60):
                self.wfile.write(b"x")
                self.wfile.flush()
                self.server.stopping.wait(1)  # type: ignore[attr-defined]
                if self.server.stopping.is_set():  # type: ignore[attr-defined]
                    return
        except OSError:
            return

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_that_trickles_is_given_up_at_the_deadline() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.stopping = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/devcontainer-feature-slow.tgz"
    started = time.monotonic()
    try:
        with pytest.raises(Unreachable) as info:
            Registry({}, deadline=2).tarball(url)
    finally:
        server.stopping.set()  # type: ignore[attr-defined]
        server.shutdown()
    assert "took over 2 s" in info.value.message
    assert time.monotonic() - started < 10


def test_an_answer_larger_than_a_feature_is_refused(tmp_path: Path) -> None:
    (tmp_path / "devcontainer-feature-big.tgz").write_bytes(b"\0" * 3000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/devcontainer-feature-big.tgz"
    try:
        with pytest.raises(FeatureFetchError) as info:
            Registry({}, max_bytes=1000).tarball(url)
    finally:
        server.shutdown()
    assert "sent more than" in info.value.message


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_redirects_are_bounded_and_credentials_stay_with_their_host() -> None:
    seen: list[str | None] = []

    class Target(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    target = _serve(Target)

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            where = (
                self.path  # to itself: a loop
                if self.path.startswith("/loop")
                else f"http://127.0.0.1:{target.server_address[1]}/blob"
            )
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    source = _serve(Redirect)
    base = f"http://127.0.0.1:{source.server_address[1]}"
    try:
        answer = Registry({})._get(f"{base}/blob", {"Authorization": "Bearer secret"})
        assert answer.content == b"ok" and seen == [None]
        with pytest.raises(FeatureFetchError, match="redirected more than 5 times"):
            Registry({})._get(f"{base}/loop", {})
    finally:
        source.shutdown()
        target.shutdown()
