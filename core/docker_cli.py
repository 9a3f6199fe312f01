"""Which docker command-line client and which engine the user's own `docker` would use: the
first `docker` on PATH, and DOCKER_HOST or the current docker context. Standard library only,
for the fast path (`podbay ssh/exec`) as much as for the engine."""

from __future__ import annotations

import os

from podbay.core.errors import DockerError


def docker_cli() -> str:
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", "docker")
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    raise DockerError(
        "the docker command-line client is not installed",
        "install it (Debian: apt-get install docker.io; or Docker's docker-ce-cli)",
    )


def current_context_host() -> str | None:
    """DOCKER_HOST, else the endpoint of the docker CLI's current context, else None."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    import json  # here: the ProxyCommand (core.ssh.proxy) imports this module for docker_cli

    config_dir = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    context = os.environ.get("DOCKER_CONTEXT")
    if not context:
        try:
            with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as config:
                context = json.load(config).get("currentContext")
        except (OSError, ValueError, AttributeError):
            context = None
    if not context or context == "default":
        return None
    from hashlib import sha256

    meta = os.path.join(
        config_dir, "contexts", "meta", sha256(context.encode()).hexdigest(), "meta.json"
    )
    try:
        with open(meta, encoding="utf-8") as meta_file:
            host = json.load(meta_file)["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(host) if host else None
