"""podbay's portable sshd volume (core/ssh/bundle.py): made once per machine and sshd, and an
older one removed. A module of its own: no other module's containers hold the volume here."""

from __future__ import annotations

import docker
import pytest

from tests.conftest import BUSYBOX


def test_the_portable_sshd_volume_is_made_once_and_replaces_an_older_one() -> None:
    import asyncio

    from podbay.core.docker import DockerEndpoint
    from podbay.core.host import LocalHost
    from podbay.core.ssh import bundle

    client = docker.from_env()
    ours = client.volumes.list(filters={"label": bundle.LABEL})
    for volume in ours:
        try:
            volume.remove()
        except docker.errors.APIError:
            pytest.skip(f"{volume.name} is in use by a container of this machine")
    old = client.volumes.create("podbay-sshd-0000000000000000", labels={bundle.LABEL: "old"})
    host = LocalHost(DockerEndpoint(None))
    mount = asyncio.run(bundle.mount_for(host, BUSYBOX))
    assert mount is not None and mount.endswith(",dst=/.podbay/sshd,readonly,volume-nocopy")
    name = mount.split(",")[1].removeprefix("src=")
    made = client.volumes.get(name)
    assert made.attrs["Labels"][bundle.LABEL]  # the sshd's digest
    assert [v.name for v in client.volumes.list(filters={"label": bundle.LABEL})] == [name]
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(old.name)
    # A second container of the machine mounts the same volume, made no more.
    assert asyncio.run(bundle.mount_for(host, BUSYBOX)) == mount


def test_a_machine_whose_sshd_runs_sessions_apart_is_not_bundled() -> None:
    """OpenSSH 9.8+ execs sshd-session from a path built into sshd, which a container lacks:
    no bundle then (the package manager's sshd instead), rather than SSH that fails later."""
    from podbay.core import scripts
    from tests.conftest import IMAGE

    script = scripts.command("sshd-bundle.sh")
    client = docker.from_env()

    def key(prepare: str) -> bytes:
        return client.containers.run(
            IMAGE, ["sh", "-c", f'{prepare}; sh -c "$0" sh key; echo "exit $?"', script],
            remove=True, stderr=True,
        )  # fmt: skip

    assert key("true").split()[-2:] == [b"exit", b"0"]
    split = key("touch /usr/lib/openssh/sshd-session")
    assert b"OpenSSH 9.8+" in split and split.split()[-2:] == [b"exit", b"3"]
