"""A portable sshd for containers, so SSH needs no package install in them.

The machine that runs the containers (this computer, or a workspace's VM) has OpenSSH's sshd.
podbay copies it once, with the libraries it links and their ELF loader, into a Docker volume
named by the sshd's digest, and mounts that volume read-only into every new container of the
same architecture at /.podbay/sshd. A connection runs it through the bundled loader
(`ld.so --library-path lib sshd -i`), which needs nothing from the image: glibc, musl and
images without a libc work alike, offline, and nothing is added to the image. An image with an
sshd of its own keeps using it; without the volume (another architecture, no sshd on the
machine, Compose) the container gets sshd from its package manager as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
from collections.abc import AsyncIterator

from podbay.core import paths, scripts, testseam
from podbay.core.errors import DockerError
from podbay.core.host import HostSession
from podbay.core.ssh.sshd import BUNDLE as MOUNT_AT

VOLUME_PREFIX = "podbay-sshd-"
LABEL = "dev.podbay.sshd"
# uname -m -> Docker's image architecture
ARCHES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def is_ours(volume: str) -> bool:
    """podbay's sshd volumes (and their `-ready` twins), not a user's."""
    return volume.startswith(VOLUME_PREFIX)


async def mount_for(host: HostSession, image: str) -> str | None:
    """The `--mount` of podbay's sshd volume for a new container of `image`, making the volume
    first if this machine's sshd has none yet; None when it cannot serve the image."""
    if testseam.no_sshd_bundle():
        return None
    key = local_key() if host.local else await _machine_key(host)
    if key is None:
        return None
    arch, digest = key
    info = await asyncio.to_thread(host.docker.inspect_image, image)
    if info is None or ARCHES.get(arch) != info.get("Architecture"):
        return None
    name = VOLUME_PREFIX + digest[:16]
    # The volume counts once its empty twin `-ready` exists, made after the fill: a fill that
    # stopped half way (a killed `up`) is never mounted, and is made again.
    ready = f"{name}-ready"
    docker = host.docker
    if await asyncio.to_thread(docker.inspect_volume, ready) is None:
        async with _one_fill_at_a_time():
            if await asyncio.to_thread(docker.inspect_volume, ready) is None:
                data = await _bundle(host)
                if data is None:
                    return None
                labels = {LABEL: digest}
                try:
                    await asyncio.to_thread(docker.fill_volume, name, image, data, labels)
                except DockerError:
                    return None  # the package manager's sshd, as without a bundle
                await asyncio.to_thread(docker.create_volume, ready, labels)
                # The machine's sshd changed (an upgrade): earlier copies go once unused.
                await asyncio.to_thread(docker.remove_volumes, LABEL, (name, ready))
    return f"type=volume,src={name},dst={MOUNT_AT},readonly,volume-nocopy"


async def _machine_key(host: HostSession) -> tuple[str, str] | None:
    """(architecture, the sshd's digest) from assets/sshd-bundle.sh on the machine."""
    key = await host.run(["sh", "-c", scripts.command("sshd-bundle.sh"), "sh", "key"])
    if key.returncode != 0 or len(key.stdout.split()) != 2:
        return None
    arch, digest = key.stdout.split()
    return arch, digest


# As assets/sshd-bundle.sh looks for them.
_SPLIT = [f"{d}/sshd-session" for d in ("/usr/lib/openssh", "/usr/libexec/openssh")]
_SPLIT += [f"{d}/sshd-session" for d in ("/usr/lib/ssh", "/usr/libexec")]
_SFTP = [f"{d}/sftp-server" for d in ("/usr/lib/openssh", "/usr/libexec/openssh")]
_SFTP += [f"{d}/sftp-server" for d in ("/usr/lib/ssh", "/usr/libexec")]


def local_key() -> tuple[str, str] | None:
    """What `sshd-bundle.sh key` prints, for this computer, without starting five programs
    (about 8 ms of every new container): the same checks, the same digest of `stat -L -c
    '%n %s %Y'` over sshd, sftp-server and ldconfig's cache (a test compares the two)."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.access(sshd, os.X_OK) or not shutil.which("ldd"):
        return None
    if any(os.path.exists(split) for split in _SPLIT):
        return None
    sftp = next((f for f in _SFTP if os.access(f, os.X_OK)), None)
    files = [sshd, *([sftp] if sftp else [])]
    if os.path.exists("/etc/ld.so.cache"):
        files.append("/etc/ld.so.cache")
    try:
        lines = "".join(f"{f} {os.stat(f).st_size} {int(os.stat(f).st_mtime)}\n" for f in files)
    except OSError:
        return None
    return os.uname().machine, hashlib.sha256(lines.encode()).hexdigest()


@contextlib.asynccontextmanager
async def _one_fill_at_a_time() -> AsyncIterator[None]:
    """Two `up`s of this computer fill a volume one after the other (the second finds it)."""
    import fcntl

    path = paths.locks_dir(paths.home()) / "sshd-volume.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def _bundle(host: HostSession) -> bytes | None:
    """The bundle as a tar, made on the machine and read from it."""
    made = await host.run(["sh", "-c", scripts.command("sshd-bundle.sh"), "sh", "make"])
    path = made.stdout.strip()
    if made.returncode != 0 or not path.endswith("/sshd.tar"):
        return None
    try:
        return await host.read_bytes(path)
    finally:
        with contextlib.suppress(Exception):
            await host.remove_tree(path.rsplit("/", 1)[0])
