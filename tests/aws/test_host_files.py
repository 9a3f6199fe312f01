"""A host's file operations mean the same on this computer (pathlib) and on a machine of its own
(asyncssh SFTP to real OpenSSH, after podbay's real user-data): one test, both hosts."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from podbay.core import source as sources
from podbay.core.docker import DockerEndpoint
from podbay.core.host import HostSession, LocalHost
from podbay.core.model import Source
from podbay.core.ssh import machine as machine_ssh

OpenHost = Callable[[], Any]


@pytest.fixture(params=["local", "machine"])
def host_and_root(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[OpenHost, str]:
    """How to open the host, and a folder on it to work in."""
    if request.param == "local":

        @asynccontextmanager
        async def local() -> AsyncIterator[HostSession]:
            yield LocalHost(DockerEndpoint(None))

        return local, str(tmp_path / "work")
    _, port, keys = request.getfixturevalue("machine")
    address = machine_ssh.MachineAddress(
        "127.0.0.1", port, "podbay", keys.client_key, keys.machine_host_public()
    )

    @asynccontextmanager
    async def remote() -> AsyncIterator[HostSession]:
        host = await machine_ssh.SshHost.open(await machine_ssh.connect(address))
        try:
            yield host
        finally:
            await host.close()

    return remote, "/home/podbay/work"


def test_files_read_write_list_rename_and_remove(host_and_root: tuple[OpenHost, str]) -> None:
    open_host, root = host_and_root

    async def scenario() -> None:
        async with open_host() as host:
            assert await host.list_dir(root) == []  # no such folder: nothing in it
            await host.mkdirs(f"{root}/a/b")
            await host.mkdirs(f"{root}/a/b")  # there already: fine
            await host.write_bytes(f"{root}/a/b/f.json", b'{"x": 1}\n\xff')
            assert await host.read_bytes(f"{root}/a/b/f.json") == b'{"x": 1}\n\xff'
            assert await host.exists(f"{root}/a/b/f.json")
            assert not await host.exists(f"{root}/a/nope")
            with pytest.raises(OSError) as missing:
                await host.read_bytes(f"{root}/a/nope")
            assert missing.value.errno == errno.ENOENT
            await host.mkdirs(f"{root}/c")
            with pytest.raises(FileExistsError):  # the destination is there: never replaced
                await host.rename(f"{root}/a", f"{root}/c")
            await host.rename(f"{root}/a", f"{root}/moved")
            assert await host.list_dir(root) == ["c", "moved"]
            await host.remove_tree(f"{root}/moved")
            await host.remove_tree(f"{root}/moved")  # gone already: fine
            assert await host.list_dir(root) == ["c"]

    asyncio.run(scenario())


def test_one_materialize_brings_a_template_and_a_folder_onto_either_host(
    host_and_root: tuple[OpenHost, str], tmp_path: Path
) -> None:
    open_host, root = host_and_root
    mine = tmp_path / "mine"
    (mine / ".devcontainer").mkdir(parents=True)
    (mine / ".devcontainer" / "devcontainer.json").write_text('{"image": "x"}')
    (mine / "main.py").write_text("print('hi')\n")

    async def scenario() -> None:
        async with open_host() as host:
            # A crashed earlier try left a partial copy: it is cleared, never used.
            await host.mkdirs(f"{root}/.copy.partial-dead")
            folder = Source(kind="folder", value=str(mine))
            assert await sources.materialize(folder, f"{root}/copy", host)
            assert await host.read_bytes(f"{root}/copy/main.py") == b"print('hi')\n"
            assert await host.list_dir(root) == ["copy"]
            # There already: left as it is, and said so.
            assert not await sources.materialize(folder, f"{root}/copy", host)
            template = Source(kind="template", value="python")
            assert await sources.materialize(template, f"{root}/py", host)
            assert ".devcontainer" in await host.list_dir(f"{root}/py")
            copy = tmp_path / "copy-here"
            await host.copy_out(f"{root}/copy", [".devcontainer", "absent"], copy)
            assert sorted(p.name for p in copy.iterdir()) == [".devcontainer"]

    asyncio.run(scenario())


def test_a_refusal_on_the_machine_names_the_machine(machine: Any) -> None:
    """Not "check the disk (dmesg)" of this computer: the one-line error says where."""
    _, port, keys = machine
    address = machine_ssh.MachineAddress(
        "127.0.0.1", port, "podbay", keys.client_key, keys.machine_host_public()
    )

    async def scenario() -> str:
        host = await machine_ssh.SshHost.open(await machine_ssh.connect(address))
        try:
            with pytest.raises(machine_ssh.MachineFileError) as refused:
                await host.write_bytes("/root/podbay-was-here", b"x")
            with pytest.raises(FileNotFoundError):
                await host.read_bytes("/home/podbay/absent")
            return refused.value.message
        finally:
            await host.close()

    message = asyncio.run(scenario())
    assert message.startswith("writing /root/podbay-was-here on the machine failed: ")
