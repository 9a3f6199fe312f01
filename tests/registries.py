"""Real registries on 127.0.0.1 for feature tests: Debian's docker-registry (distribution),
optionally behind token auth served by a small token service here, and a static file server.

Features are pushed as the reference CLI publishes them: an OCI manifest whose config has the
media type application/vnd.devcontainers and whose one layer is the feature's tar.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import io
import json
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

USER, PASSWORD = "podbay-tester", "s3cret-pass"
SERVICE, ISSUER = "podbay-test-registry", "podbay-test-tokens"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Registry:
    address: str  # host:port
    proc: subprocess.Popen[bytes]
    token: TokenService | None = None

    def stop(self) -> None:
        """Take the registry away (the network is gone, as far as podbay can tell)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class TokenService:
    """Issues registry tokens (RS256 JWTs with the signing certificate in x5c) to USER:PASSWORD.

    Anonymous callers get a token with no access, as public registries give for private
    repositories, so the registry then refuses with 401.
    """

    def __init__(self, root: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        self.cert_file = root / "token-cert.pem"
        self.cert_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.requests: list[dict[str, Any]] = []  # what each token request carried
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                service.answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(handler.path).query)
        auth = handler.headers.get("Authorization", "")
        given = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
        self.requests.append({"query": query, "user": given.partition(":")[0]})
        access = []
        if given == f"{USER}:{PASSWORD}":
            for scope in query.get("scope", []):
                kind, _, rest = scope.partition(":")
                repo, _, actions = rest.rpartition(":")
                access.append({"type": kind, "name": repo, "actions": actions.split(",")})
        body = json.dumps({"token": self.token(given.partition(":")[0], access)}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def token(self, subject: str, access: list[dict[str, Any]]) -> str:
        import jwt
        from cryptography.hazmat.primitives import serialization

        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": [x5c]})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def start_registry(
    root: Path, token_auth: bool = False, basic_auth: bool = False
) -> Iterator[Registry]:
    """docker-registry on 127.0.0.1 (plain HTTP: loopback registries are trusted by Docker);
    with `token_auth`, behind the token service here; with `basic_auth`, USER:PASSWORD in an
    htpasswd file (bcrypt, as the registry requires)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise FileNotFoundError("docker-registry is not installed (run: make images)")
    root.mkdir(parents=True, exist_ok=True)
    token = TokenService(root) if token_auth else None
    port = free_port()
    auth = ""
    if basic_auth:
        import bcrypt

        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
        (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
        auth = f"auth: {{htpasswd: {{realm: podbay-test, path: {root / 'htpasswd'}}}}}\n"
    if token is not None:
        auth = (
            f"auth: {{token: {{realm: '{token.realm}', service: {SERVICE}, issuer: {ISSUER}, "
            f"rootcertbundle: {token.cert_file}}}}}\n"
        )
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n" + auth
    )
    proc = subprocess.Popen(
        [binary, "serve", str(root / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    registry = Registry(f"127.0.0.1:{port}", proc, token)
    try:
        wait_for_port(port)
        yield registry
    finally:
        registry.stop()
        if token is not None:
            token.close()


def feature_tgz(folder: Path) -> bytes:
    """A feature folder as the tar the reference CLI packages (./-prefixed names, gzip)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname="./" + path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def write_feature(folder: Path, manifest: dict[str, Any], install: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "devcontainer-feature.json").write_text(json.dumps(manifest))
    (folder / "install.sh").write_text("#!/bin/sh\nset -e\n" + install)
    (folder / "install.sh").chmod(0o755)
    return folder


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_feature(registry: Registry, repo: str, tags: list[str], folder: Path) -> str:
    """Publish a feature folder under tags; returns the manifest digest."""
    session = requests.Session()
    if registry.token is not None:
        token = registry.token.token(
            USER, [{"type": "repository", "name": repo, "actions": ["pull", "push"]}]
        )
        session.headers["Authorization"] = f"Bearer {token}"
    base = f"http://{registry.address}/v2/{repo}"
    layer = feature_tgz(folder)
    config = b"{}"
    for blob in (layer, config):
        start = session.post(f"{base}/blobs/uploads/", timeout=10)
        start.raise_for_status()
        location = start.headers["Location"]
        if location.startswith("/"):
            location = f"http://{registry.address}{location}"
        sep = "&" if "?" in location else "?"
        put = session.put(
            f"{location}{sep}digest={_digest(blob)}",
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        )
        put.raise_for_status()
    meta = json.loads((folder / "devcontainer-feature.json").read_text())
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.devcontainers",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.devcontainers.layer.v1+tar",
                    "digest": _digest(layer),
                    "size": len(layer),
                    "annotations": {
                        "org.opencontainers.image.title": f"devcontainer-feature-{meta['id']}.tgz"
                    },
                }
            ],
            "annotations": {"dev.containers.metadata": json.dumps(meta)},
        }
    ).encode()
    for tag in tags:
        put = session.put(
            f"{base}/manifests/{tag}",
            data=manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
            timeout=10,
        )
        put.raise_for_status()
    return _digest(manifest)


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """A static HTTP server for folder on 127.0.0.1; yields its base URL."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
