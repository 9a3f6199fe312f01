"""Image builds with the docker CLI, output streamed as events.

The user's Dockerfile is built where the source is (this computer, or the workspace's own
machine) with their context, so `build.options` — docker build flags — mean what they say and
BuildKit is used whenever their docker CLI uses it. The generated image on top (features, UID
update) is built from a context podbay writes on this computer and sends to the workspace's
engine; its Dockerfile only uses instructions every builder knows, one COPY and one RUN per
feature, so a changed feature rebuilds from that feature on and the ones before come from cache.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from podbay.core import registry_access, scripts
from podbay.core.devcontainer.feature_image import UID_SCRIPT, Extension
from podbay.core.devcontainer.plan import DockerfileBuild
from podbay.core.docker import DockerEndpoint
from podbay.core.docker_cli import docker_cli
from podbay.core.errors import DockerError
from podbay.core.host import HostSession, LocalHost
from podbay.core.reporter import Reporter


class Output:
    """Build output to the log; the last lines are kept to say why a build failed."""

    def __init__(self, report: Reporter, what: str) -> None:
        self.report = report
        self.what = what
        self.tail: list[str] = []

    def line(self, text: str) -> None:
        self.report.log(text)
        self.tail = [*self.tail[-19:], text]

    def failure(self, code: int, hint: str) -> DockerError:
        reason = next(
            (
                t.strip()
                for t in reversed(self.tail)
                if re.search(r"error|fail|denied|no such", t, re.I)
            ),
            self.tail[-1].strip() if self.tail else f"exit code {code}",
        )
        return DockerError(f"{self.what} failed: {reason[:300]}", hint)


def _docker_env(docker: DockerEndpoint) -> dict[str, str]:
    return {"DOCKER_HOST": docker.host} if docker.host else {}


async def build_dockerfile(
    host: HostSession,
    build: DockerfileBuild,
    config_dir: str,
    labels: Mapping[str, str],
    report: Reporter,
    registries: list[str] | None = None,
    login: registry_access.Lookup | None = None,
) -> None:
    """`docker build` of the user's Dockerfile, in the config's folder on the machine; on a
    machine of its own, with the credentials of `registries` lent for the build (`login`)."""
    report.step(f"building the image from {build.dockerfile}")
    output = Output(report, "building the Dockerfile")
    if host.local:
        argv, env = [docker_cli(), *build.argv(labels)], _docker_env(host.docker)
        code = await host.run_stream(argv, output.line, cwd=config_dir, env=env)
    else:
        argv = ["docker", *build.argv(labels)]
        async with registry_access.for_build(host, registries or [], login) as env:
            code = await host.run_stream(argv, output.line, cwd=config_dir, env=env)
    if code != 0:
        raise output.failure(code, "fix the Dockerfile or build settings, then run podbay up again")


def has_buildkit(cli: str) -> bool:
    """Whether this docker CLI can build with BuildKit: built in up to 22.x (DOCKER_BUILDKIT=1),
    through the buildx plugin from 23 on. podbay's own image on top uses it when it can: about
    twice as fast as the classic builder here, and its metadata steps make no layers."""
    try:
        version = subprocess.run(
            [cli, "version", "--format", "{{.Client.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        major = int(version.split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return False
    if 18 <= major < 23:
        return True
    buildx = subprocess.run(
        [cli, "buildx", "version"], capture_output=True, timeout=30, check=False
    )
    return buildx.returncode == 0


def write_context(extension: Extension, folder: Path) -> None:
    """The generated image's build context: one folder per feature and the Dockerfile."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    for stage in extension.stages:
        target = folder / stage.dir
        shutil.copytree(stage.source, target, symlinks=True)
        (target / "devcontainer-features.env").write_text(stage.env, encoding="utf-8")
        (target / "podbay-builtin.env").write_text(stage.builtin, encoding="utf-8")
        (target / "podbay-install.sh").write_text(scripts.text("feature-install.sh"))
    if extension.updates_uid:
        script = resources.files("podbay.assets").joinpath("update-uid.sh").read_bytes()
        (folder / UID_SCRIPT).write_bytes(script)
    (folder / "Dockerfile").write_text(extension.dockerfile, encoding="utf-8")


async def build_extension(
    docker: DockerEndpoint, extension: Extension, folder: Path, report: Reporter
) -> None:
    """Build the generated image (features, UID update) on the workspace's engine."""
    names = ", ".join(s.dir.split("-", 1)[1] for s in extension.stages)
    report.step(f"installing features: {names}" if names else "updating the user's uid")
    cli = docker_cli()
    _, buildkit = await asyncio.gather(
        asyncio.to_thread(write_context, extension, folder), asyncio.to_thread(has_buildkit, cli)
    )
    argv = [cli, "build", "-f", str(folder / "Dockerfile"), "-t", extension.tag]
    if buildkit:
        argv.append("--progress=plain")
    for key, value in extension.labels.items():
        argv += ["--label", f"{key}={value}"]
    argv.append(str(folder))
    output = Output(report, "installing features" if names else "updating the uid")
    env = {**_docker_env(docker), "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    code = await LocalHost(docker).run_stream(argv, output.line, env=env)
    if code != 0:
        raise output.failure(code, "see the feature's install.sh output above (podbay logs NAME)")
