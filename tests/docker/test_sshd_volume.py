"""podbay's portable sshd volume (core/ssh/bundle.py): made once per machine and sshd, and an
older one removed. A module of its own: no other module's containers hold the volume here."""

from __future__ import annotations

import asyncio
import contextlib

import docker
import pytest

from tests.conftest import BUSYBOX


def _clear_ours() -> None:
    from podbay.core.ssh import bundle

    for volume in docker.from_env().volumes.list(filters={"label": bundle.LABEL}):
        try:
            volume.remove()
        except docker.errors.APIError:
            pytest.skip(f"{volume.name} is in use by a container of this machine")


def _complete(name: str) -> bool:
    """Whether the volume holds a whole bundle (its `complete` comes last out of the tar)."""
    found = docker.from_env().containers.run(
        BUSYBOX, ["sh", "-c", "test -e /x/complete && test -x /x/ld.so && echo whole || true"],
        mounts=[docker.types.Mount("/x", name, type="volume", read_only=True)], remove=True,
    )  # fmt: skip
    return bool(found.strip() == b"whole")


def test_the_portable_sshd_volume_is_made_once_and_replaces_an_older_one() -> None:
    from podbay.core.docker import DockerEndpoint
    from podbay.core.host import LocalHost
    from podbay.core.ssh import bundle

    client = docker.from_env()
    _clear_ours()
    old = client.volumes.create("podbay-sshd-0000000000000000", labels={bundle.LABEL: "old"})
    host = LocalHost(DockerEndpoint(None))
    mount = asyncio.run(bundle.mount_for(host, BUSYBOX))
    assert mount is not None and mount.endswith(",dst=/.podbay/sshd,readonly,volume-nocopy")
    name = mount.split(",")[1].removeprefix("src=")
    made = client.volumes.get(name)
    assert made.attrs["Labels"][bundle.LABEL]  # the sshd's digest
    ours = sorted(v.name for v in client.volumes.list(filters={"label": bundle.LABEL}))
    assert ours == [name, f"{name}-ready"] and _complete(name)
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(old.name)
    # A second container of the machine mounts the same volume, made no more.
    assert asyncio.run(bundle.mount_for(host, BUSYBOX)) == mount
    assert client.volumes.get(name).attrs["CreatedAt"] == made.attrs["CreatedAt"]


def test_a_volume_whose_fill_stopped_half_way_is_made_again() -> None:
    from podbay.core.docker import DockerEndpoint
    from podbay.core.host import LocalHost
    from podbay.core.ssh import bundle

    host = LocalHost(DockerEndpoint(None))
    client = docker.from_env()
    _clear_ours()
    mount = asyncio.run(bundle.mount_for(host, BUSYBOX))
    assert mount is not None
    name = mount.split(",")[1].removeprefix("src=")
    # As a killed `up` leaves it: the volume made, nothing (or half) in it, no `-ready` twin.
    client.volumes.get(f"{name}-ready").remove()
    client.volumes.get(name).remove()
    client.volumes.create(name, labels={bundle.LABEL: "half"})
    assert not _complete(name)
    assert asyncio.run(bundle.mount_for(host, BUSYBOX)) == mount
    assert _complete(name)


def test_a_machine_whose_sshd_runs_sessions_apart_is_not_bundled() -> None:
    """OpenSSH 9.8+ execs sshd-session from a path built into sshd, which a container lacks:
    no bundle then (the package manager's sshd instead), rather than SSH that fails later."""
    from podbay.core import scripts
    from tests.conftest import IMAGE

    script = scripts.command("sshd-bundle.sh")
    client = docker.from_env()

    def key(prepare: str) -> bytes:
        return client.containers.run(
            IMAGE, ["sh", "-c", f'{prepare}; sh -c "$0" sh key 2>&1; echo "exit $?"', script],
            remove=True, stderr=True,
        )  # fmt: skip

    assert key("true").split()[-2:] == [b"exit", b"0"]
    split = key("touch /usr/lib/openssh/sshd-session")
    assert b"OpenSSH 9.8+" in split and split.split()[-2:] == [b"exit", b"3"]


def test_another_machines_volume_in_use_keeps_counting_as_whole() -> None:
    """Two machines sharing one engine (a test's ssh machine or AWS stand-in beside this
    computer) each have their own sshd, so their own volume. Making ours removes the other's
    unused one, but never the `-ready` twin of one a container still mounts: without it that
    machine could neither use its volume nor make it again while the container lives."""
    from podbay.core.docker import DockerEndpoint
    from podbay.core.host import LocalHost
    from podbay.core.ssh import bundle

    client = docker.from_env()
    _clear_ours()
    theirs = "podbay-sshd-1111111111111111"
    unused = "podbay-sshd-2222222222222222"
    for name in (theirs, f"{theirs}-ready", unused, f"{unused}-ready"):
        client.volumes.create(name, labels={bundle.LABEL: name})
    holder = client.containers.create(
        BUSYBOX, ["true"], mounts=[docker.types.Mount("/x", theirs, type="volume")]
    )
    try:
        host = LocalHost(DockerEndpoint(None))
        assert asyncio.run(bundle.mount_for(host, BUSYBOX)) is not None
        left = {v.name for v in client.volumes.list(filters={"label": bundle.LABEL})}
        assert {theirs, f"{theirs}-ready"} <= left
        assert not {unused, f"{unused}-ready"} & left
    finally:
        holder.remove(force=True)
        for name in (theirs, f"{theirs}-ready"):
            with contextlib.suppress(docker.errors.APIError):
                client.volumes.get(name).remove()
