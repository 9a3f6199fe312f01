"""Downloading devcontainer features: OCI registries (distribution API v2) and tarball URLs.

A published feature is an OCI artifact: a manifest whose config has the media type
`application/vnd.devcontainers` and whose one layer is the feature's tar. Registries answer
401 with a challenge; Bearer challenges are met with a token from the realm (sent the user's
credentials when they have any), Basic ones with the credentials themselves.

Credentials come from `DEVCONTAINERS_OCI_AUTH` (`registry|user|token,...`), then Docker's own
config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`: `credHelpers`, `credsStore`,
`auths`), as the reference CLI reads them. They are sent only over HTTPS, or to this computer.

Uses `requests` (already here through the Docker SDK): TLS, proxies from the environment, and
dropping the Authorization header when a blob download is redirected to another host.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from podbay.core.errors import PodbayError

if TYPE_CHECKING:
    import requests

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
FEATURE_CONFIG_TYPE = "application/vnd.devcontainers"
FEATURE_LAYER_TYPE = "application/vnd.devcontainers.layer.v1+tar"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_TIMEOUT = 30  # seconds without a byte (connect, then each read)
DEADLINE = 180  # seconds for one whole download, however slowly the bytes come
MAX_BYTES = 100 * 2**20  # features are small; a larger answer is not a feature


class FeatureFetchError(PodbayError):
    kind = "feature-fetch"


class Unreachable(FeatureFetchError):
    """The registry or URL did not answer at all (offline, DNS, refused)."""


def is_loopback(host: str) -> bool:
    return host.lower().strip("[]") in _LOOPBACK


def scheme_for(registry: str) -> str:
    """Plain HTTP only for a registry on this computer; HTTPS everywhere else."""
    host = urlsplit(f"//{registry}").hostname or ""
    return "http" if is_loopback(host) else "https"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def credentials(registry: str, env: dict[str, str]) -> tuple[str, str] | None:
    """(user, secret) for a registry, or None to go anonymous."""
    for entry in env.get("DEVCONTAINERS_OCI_AUTH", "").split(","):
        parts = entry.split("|")
        if len(parts) == 3 and parts[0] == registry:
            return parts[1], parts[2]
    home = Path(env.get("HOME", "~")).expanduser()
    config_dir = env.get("DOCKER_CONFIG") or str(home / ".docker")
    try:
        config = json.loads((Path(config_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    helper = (config.get("credHelpers") or {}).get(registry) or config.get("credsStore")
    if isinstance(helper, str) and helper:
        found = _from_helper(helper, registry)
        if found is not None:
            return found
    auths = config.get("auths") or {}
    for key in (registry, f"https://{registry}", f"http://{registry}"):
        encoded = (auths.get(key) or {}).get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                user, _, secret = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                continue
            return user, secret
    return None


def _from_helper(helper: str, registry: str) -> tuple[str, str] | None:
    try:
        result = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=registry,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
        data = json.loads(result.stdout) if result.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if isinstance(data, dict) and data.get("Secret"):
        return str(data.get("Username") or ""), str(data["Secret"])
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="..."` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


def parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    """A feature's OCI manifest; anything else (an image, not JSON) is refused."""
    try:
        manifest = json.loads(data)
        media_type = manifest["config"]["mediaType"]
    except (ValueError, KeyError, TypeError):
        raise FeatureFetchError(f"{where} is not an OCI manifest", "is it a feature?") from None
    if media_type != FEATURE_CONFIG_TYPE:
        raise FeatureFetchError(
            f"{where} is not a devcontainer feature (config type {media_type})",
            "features are published with `devcontainer features publish`",
        )
    return dict(manifest)


class Registry:
    """One HTTP session for all registries of an `up`; tokens kept per registry and scope."""

    def __init__(
        self, env: dict[str, str], deadline: float = DEADLINE, max_bytes: int = MAX_BYTES
    ) -> None:
        import requests  # ~50 ms; only when a feature is downloaded

        self.env = env
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "podbay"
        self._auth: dict[tuple[str, str], str] = {}

    def _get(
        self,
        url: str,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        """One GET, redirects followed here (at most 5; credentials never to another host, no
        plain HTTP to another machine), the body read with a deadline and a size cap."""
        import requests
        import urllib3

        host = urlsplit(url).netloc
        deadline = time.monotonic() + self.deadline
        try:
            for _ in range(6):
                response = self.session.get(
                    url,
                    headers=headers,
                    params=params,
                    auth=auth,
                    timeout=_TIMEOUT,
                    stream=True,
                    allow_redirects=False,
                )
                if not response.is_redirect:
                    response._content = self._body(response, url, deadline)
                    return response
                target = urljoin(url, response.headers.get("Location", ""))
                response.close()
                parts = urlsplit(target)
                if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
                    raise FeatureFetchError(
                        f"{host} redirected {url} to plain HTTP on another machine ({target})",
                        "downloads from other machines go over https",
                    )
                if parts.netloc != urlsplit(url).netloc:
                    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                    auth = None
                url, params = target, None
            raise FeatureFetchError(f"{host} redirected more than 5 times", "check the address")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(
                f"cannot reach {host}: {type(exc).__name__}",
                "check the network and the address; features already downloaded work offline",
            ) from None

    def _body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        host = urlsplit(url).netloc
        body = bytearray()
        # read1 returns what has arrived, so a server that trickles is checked every read.
        while chunk := response.raw.read1(1 << 16, decode_content=True):
            body += chunk
            if len(body) > self.max_bytes:
                response.close()
                raise FeatureFetchError(
                    f"{host} sent more than {self.max_bytes // 2**20} MiB for {url}",
                    "a feature is far smaller; check the address",
                )
            if time.monotonic() > deadline:
                response.close()
                raise Unreachable(
                    f"downloading from {host} took over {self.deadline:.0f} s; given up",
                    "the server is too slow or stalled; try again later",
                )
        return bytes(body)

    def get(self, registry: str, repo: str, rest: str, accept: str) -> requests.Response:
        """GET /v2/REPO/REST on a registry (pull access), answering its auth challenge once."""
        url = f"{scheme_for(registry)}://{registry}/v2/{repo}/{rest}"
        scope = f"repository:{repo}:pull"
        headers = {"Accept": accept}
        cached = self._auth.get((registry, scope))
        if cached:
            headers["Authorization"] = cached
        response = self._get(url, headers)
        if response.status_code == 401 and not cached:
            challenge = response.headers.get("WWW-Authenticate", "")
            authorization = self._answer(registry, scope, challenge)
            if authorization:
                self._auth[(registry, scope)] = authorization
                response = self._get(url, {**headers, "Authorization": authorization})
        if response.status_code in (401, 403):
            user = credentials(registry, self.env)
            raise FeatureFetchError(
                f"{registry} refused access to {repo}"
                + (f" for user {user[0]}" if user else " without credentials"),
                f"log in with: docker login {registry} (or set DEVCONTAINERS_OCI_AUTH)",
            )
        return response

    def _answer(self, registry: str, scope: str, challenge: str) -> str | None:
        kind, params = parse_challenge(challenge)
        user = credentials(registry, self.env)
        if kind == "basic":
            if user is None:  # the registry itself: HTTPS, or this computer (scheme_for)
                return None
            return "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
        if kind != "bearer" or not params.get("realm"):
            return None
        realm = params["realm"]
        parts = urlsplit(realm)
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        # Credentials go to the realm only over HTTPS, or when it is on this computer.
        safe = parts.scheme == "https" or is_loopback(parts.hostname or "")
        auth = user if user is not None and safe else None
        try:
            response = self._get(realm, {}, params=query, auth=auth)
        except Unreachable as exc:
            raise Unreachable(
                f"the token service of {registry} ({parts.netloc}): {exc.message}",
                "check the network",
            ) from None
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        return f"Bearer {token}" if isinstance(token, str) and token else None

    def manifest(self, registry: str, path: str, reference: str) -> tuple[str, bytes]:
        """A feature's manifest by tag or digest: (its digest, its bytes as served)."""
        response = self.get(registry, path, f"manifests/{reference}", MANIFEST_TYPE)
        where = f"{registry}/{path}:{reference}".replace(":sha256:", "@sha256:")
        if response.status_code == 404:
            raise FeatureFetchError(
                f"feature {where} was not found on the registry",
                "check the name and version (tags are like 1, 1.2 or 1.2.3)",
            )
        if response.status_code != 200:
            raise FeatureFetchError(
                f"{registry} answered {response.status_code} for {where}", "try again later"
            )
        digest = sha256(response.content)
        if reference.startswith("sha256:") and digest != reference:
            raise FeatureFetchError(
                f"the manifest of {where} does not match its digest (got {digest})",
                "the registry sent something else; do not use it",
            )
        parse_manifest(response.content, where)
        return digest, response.content

    def blob(self, registry: str, path: str, digest: str) -> bytes:
        response = self.get(registry, path, f"blobs/{digest}", "application/octet-stream")
        if response.status_code != 200:
            raise FeatureFetchError(
                f"{registry} answered {response.status_code} for blob {digest[:19]} of {path}",
                "try again later",
            )
        if sha256(response.content) != digest:
            raise FeatureFetchError(
                f"the download of {registry}/{path} does not match its digest",
                "try again; if it persists the registry is serving something else",
            )
        return response.content

    def tarball(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise FeatureFetchError(
                f"feature {url}: plain HTTP is not used for downloads from other machines",
                "use the https:// address of the tarball",
            )
        response = self._get(url, {})
        if response.status_code != 200:
            raise FeatureFetchError(
                f"downloading {url} failed: HTTP {response.status_code}", "check the URL"
            )
        return response.content
