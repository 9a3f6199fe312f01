"""core/ must stay usable without Textual or cloud SDKs; providers must not pull in Textual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from podbay.core.model import ProviderConfig, Source, Workspace
from podbay.core.store import Store

CHECK = """
import sys
import core.engine, core.store, core.docker, core.source, core.templates
import core.devcontainer.plan, core.devcontainer.config
import providers, providers.docker_local
loaded = sorted(m for m in ("textual", "boto3", "botocore", "tui") if m in sys.modules)
print(",".join(loaded))
"""


def test_core_and_providers_import_neither_textual_nor_boto3() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_exec_path_imports_no_heavy_modules(tmp_path: Path) -> None:
    """`podbay exec` runs per command: it must not pay for pydantic, asyncio, the SDK or Textual.

    It runs for real here, with a stand-in `docker` that prints the argv it was given.
    """
    store = Store(tmp_path / "home")
    store.save_provider(ProviderConfig(name="docker", type="docker"))
    ws = Workspace(
        name="w",
        provider="docker",
        source=Source(kind="image", value="x"),
        folder="/x",
        owned_folder=True,
        container_name="c",
        container_id="abc123",
        remote_user="dev",
        workspace_folder="/workspaces/w",
        remote_env={"A": "1"},
        phase="ready",
    )
    store.insert_workspace(ws)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text('#!/bin/sh\necho "$@"\n')
    (bin_dir / "docker").chmod(0o755)
    env = {
        **os.environ,
        "PODBAY_HOME": str(tmp_path / "home"),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    env.pop("DOCKER_HOST", None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "podbay.tui.cli", "exec", "w", "--", "ls", "-l"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.split() == [
        "exec",
        "-i",
        "-u",
        "dev",
        "-w",
        "/workspaces/w",
        "-e",
        "A=1",
        "abc123",
        "ls",
        "-l",
    ]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert not imported & {"pydantic", "asyncio", "docker", "textual", "requests"}


def test_local_endpoints_do_not_load_paramiko_but_ssh_ones_still_work() -> None:
    code = (
        "import sys\n"
        "from podbay.core.docker import DockerEndpoint\n"
        "from podbay.core.errors import DockerUnreachable\n"
        "for url in ('unix:///nonexistent.sock', 'ssh://nobody@127.0.0.1:9'):\n"
        "    try:\n"
        "        DockerEndpoint(url).client()\n"
        "    except DockerUnreachable as exc:\n"
        "        print(exc.message, file=sys.stderr)\n"
        "    print('paramiko' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
    assert "paramiko" not in result.stderr.lower()


def test_the_proxy_command_path_imports_only_the_standard_library_it_needs() -> None:
    """The ProxyCommand runs per SSH connection under `python -S -E`: keep it lean."""
    root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.insert(0, {root!r}); import podbay.core.attach\n"
        "heavy = ('pydantic', 'docker', 'asyncio', 'argparse', 'tarfile', 'subprocess', "
        "'asyncssh', 'textual')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_test_knobs_are_read_in_one_documented_place() -> None:
    # Production code reads PODBAY_TEST_* only in core/testseam.py (issue 13's hygiene item).
    root = Path(__file__).resolve().parents[2]
    readers = sorted(
        str(path.relative_to(root))
        for folder in ("core", "providers", "tui")
        for path in (root / folder).rglob("*.py")
        if "PODBAY_TEST_" in path.read_text()
    )
    assert readers == ["core/testseam.py"]
