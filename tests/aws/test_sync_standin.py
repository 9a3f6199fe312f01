"""A folder of this computer copied to a workspace's VM: what changes there is brought back
by `podbay sync`, and `delete` (which terminates the VM) refuses to lose it unannounced."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import pytest

from podbay import providers
from podbay.core.engine import Engine, UpRequest
from podbay.core.errors import WorkAtRisk
from podbay.core.model import ProviderConfig
from podbay.core.store import Store
from tests.aws import standin
from tests.conftest import IMAGE, write_config


def test_delete_keeps_changes_made_on_the_vm_until_they_are_synced_back(
    aws: None, caller_ip: dict[str, str], standin_env: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "home")
    engine = Engine(store, providers.load)
    engine.providers.save(ProviderConfig(name="cloud", type="aws", options={"region": "us-east-1"}))
    project = tmp_path / "project"
    write_config(project, {"image": IMAGE})
    (project / "hello.txt").write_text("from this computer\n")
    try:
        asyncio.run(engine.up(UpRequest(source=str(project), provider="cloud")))
        container = str(store.workspace("project").container_id)
        subprocess.run(
            ["docker", "exec", container, "sh", "-c",
             "echo edited on the VM > /workspaces/project/hello.txt"],
            check=True,
        )  # fmt: skip
        with pytest.raises(WorkAtRisk) as refused:
            asyncio.run(engine.delete("project"))
        assert "1 file(s) changed on the machine: hello.txt" in refused.value.message
        assert "podbay sync project" in refused.value.message
        synced = asyncio.run(engine.sync("project"))
        assert synced.brought == ["hello.txt"]
        assert (project / "hello.txt").read_text() == "edited on the VM\n"
        asyncio.run(engine.delete("project"))  # (nothing left to lose)
        assert store.find_workspace("project") is None
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(engine.delete("project", force=True))
        standin.remove_all(store.install_id())
