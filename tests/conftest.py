"""Shared fixtures: a private podbay home per test, the podbay CLI as a subprocess, real Docker."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PODBAY = str(Path(sys.executable).parent / "podbay")
# This computer's git config stays out of the tests, as on a fresh CI machine: each new
# container would get its identity (an exec more: counts and timings would depend on the
# machine). Tests of the identity give their own; tests of a user's home unset it. An empty
# file of the test run's own, never os.devnull: `git config --global` replaces the file it
# writes (a lock file renamed over it), and /dev/null must stay the device.
_GIT_GLOBAL = Path(tempfile.mkdtemp(prefix="podbay-tests-git-")) / "gitconfig"
_GIT_GLOBAL.touch()
atexit.register(shutil.rmtree, _GIT_GLOBAL.parent, True)
os.environ["GIT_CONFIG_GLOBAL"] = str(_GIT_GLOBAL)
IMAGE = "podbay-test/debian:bookworm"
BUSYBOX = "podbay-test/busybox:latest"


class Podbay:
    """Runs the real `podbay` command against one private PODBAY_HOME."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.env = {
            **os.environ,
            "PODBAY_HOME": str(home),
            # Secrets go to the keyring's file backend in the test's own folder, never to a
            # keyring of this computer.
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "XDG_DATA_HOME": str(home / "xdg"),
        }
        self.env.pop("PODBAY_TEST_KILL_AT", None)

    def __call__(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 180,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PODBAY, *args],
            cwd=cwd or self.cwd,
            env={**self.env, **(env or {})},
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = self(*args, **kw)
        assert result.returncode == 0, f"podbay {' '.join(args)} failed:\n{result.stderr}"
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [PODBAY, *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def status(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.json("status", name)
        return found


@pytest.fixture
def podbay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Podbay]:
    # A short home, as a user's is: pytest's folders are too deep for the unix socket of an
    # ssh master connection, and `ssh NAME.podbay` is tested as users get it (multiplexed).
    home = Path(tempfile.mkdtemp(prefix="pbh-")) / "home"
    monkeypatch.setenv("PODBAY_HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    yield Podbay(home, work)
    _remove_containers(home)
    shutil.rmtree(home.parent, ignore_errors=True)


def _remove_containers(home: Path) -> None:
    db = home / "podbay.db"
    if not db.exists():
        return
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key='install_id'").fetchone()
    if row is None:
        return
    try:
        import docker

        client = docker.from_env()
        mine = client.api.containers(all=True, filters={"label": [f"dev.podbay.home={row[0]}"]})
        # The other services of compose workspaces: labelled with their project, which ends
        # with the start of the install id.
        sidecars = client.api.containers(all=True, filters={"label": ["dev.podbay.compose-of"]})
        sidecars = [
            c for c in sidecars if c["Labels"]["dev.podbay.compose-of"].endswith(row[0][:6])
        ]
        for container in [*sidecars, *mine]:
            client.api.remove_container(container["Id"], force=True, v=True)
        for project in {c["Labels"]["dev.podbay.compose-of"] for c in sidecars}:
            client.api.prune_networks(  # type: ignore[no-untyped-call]
                filters={"label": [f"com.docker.compose.project={project}"]}
            )
        images = client.api.images(filters={"label": [f"dev.podbay.home={row[0]}"]})
        for image in sorted(images, key=lambda i: i.get("Created", 0), reverse=True):
            client.api.remove_image(image["Id"], force=True)
    except Exception:
        pass


def write_config(folder: Path, config: dict[str, Any] | str, where: str = ".devcontainer") -> Path:
    """Write a devcontainer.json (a dict, or JSONC text as is) into `folder`."""
    target = folder / where / "devcontainer.json" if where else folder / ".devcontainer.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(config if isinstance(config, str) else json.dumps(config, indent=2))
    return target
