"""Differential tests need the reference devcontainer CLI (make refcli) and a real engine."""

from __future__ import annotations

from tests.docker.conftest import _needs_docker  # noqa: F401  (the same Docker check)
