"""Pulling an image the engine does not have, from a real registry on loopback."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import docker

from tests.conftest import BUSYBOX, Podbay


def push_unique_image(registry: str, workdir: Path) -> str:
    """An image with a fresh 4 MiB layer, pushed to the registry and removed locally."""
    client = docker.from_env()
    (workdir / "blob.bin").write_bytes(os.urandom(4 << 20))
    (workdir / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCOPY blob.bin /blob.bin\n")
    reference = f"{registry}/podbay-pull/box:{uuid.uuid4().hex[:8]}"
    client.images.build(path=str(workdir), tag=reference, rm=True)
    for line in client.api.push(reference, stream=True, decode=True):
        assert "error" not in line, line
    client.images.remove(reference)
    return reference


def test_up_pulls_a_missing_image_with_progress(
    podbay: Podbay, registry: str, tmp_path: Path
) -> None:
    reference = push_unique_image(registry, tmp_path)
    client = docker.from_env()
    try:
        up = podbay.ok("up", reference, "--name", "pulled")
        assert f"==> pulling {reference}" in up.stderr
        # Without a terminal, progress is a line per quarter; the last says 100%.
        assert "100% of 4.0 MiB" in up.stderr
        assert podbay.ok("exec", "pulled", "--", "ls", "-l", "/blob.bin").stdout
    finally:
        podbay("delete", "pulled", "--yes")
        client.images.remove(reference, force=True)
