"""Docker Compose configs: the user's compose files plus podbay's override for the dev service,
run with Docker Compose v2 (`docker compose`) on this computer.

The override (JSON, which compose reads as YAML) names the dev service's container and image,
adds podbay's labels and the merged devcontainer settings to it, and labels every other service
of the project as part of the workspace, so stop, start and delete find them by label without
asking compose again.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podbay.core.build import Output
from podbay.core.devcontainer.plan import ComposeRef
from podbay.core.docker import DockerEndpoint
from podbay.core.docker_cli import docker_cli
from podbay.core.errors import ConfigError, ProviderError
from podbay.core.host import HostSession
from podbay.core.reporter import Reporter

LABEL_PROJECT = "com.docker.compose.project"
LABEL_PART_OF = "dev.podbay.compose-of"  # on every service container of a workspace's project


def project_name(image_name: str) -> str:
    """Compose project names are lower case letters, digits, '-' and '_'."""
    return re.sub(r"[^a-z0-9_-]", "-", image_name.lower())


class Compose:
    """`docker compose -p PROJECT -f FILE...` for one workspace."""

    def __init__(
        self,
        host: HostSession,
        docker: DockerEndpoint,
        ref: ComposeRef,
        config_dir: str,
        project: str,
        report: Reporter,
    ) -> None:
        if not host.local:
            raise ProviderError(
                "Docker Compose configs run on the local Docker provider for now",
                "use an image or Dockerfile config on this provider",
            )
        self.host = host
        self.docker = docker
        self.ref = ref
        self.config_dir = Path(config_dir)
        self.project = project
        self.report = report
        self.files = [str((self.config_dir / f).resolve()) for f in ref.files]
        self.env = {"DOCKER_HOST": docker.host} if docker.host else {}

    def _argv(self, *args: str, override: Path | None = None) -> list[str]:
        argv = [docker_cli(), "compose", "-p", self.project]
        for file in [*self.files, *([str(override)] if override else [])]:
            argv += ["-f", file]
        return [*argv, *args]

    async def check(self) -> None:
        """Docker Compose v2 must be there; say plainly what to install when it is not."""
        version: list[str] = []
        code = await self.host.run_stream(
            [docker_cli(), "compose", "version", "--short"], version.append, env=self.env
        )
        if code == 0 and version and not version[-1].strip().startswith("1."):
            return
        raise ProviderError(
            "this config uses Docker Compose (dockerComposeFile) and `docker compose` (v2) "
            "is not installed",
            "install Docker's Compose v2 plugin (Debian 13 and Ubuntu: the docker-compose or "
            "docker-compose-v2 package), then run podbay up again",
        )

    async def _run(self, argv: list[str], what: str, hint: str) -> None:
        output = Output(self.report, what)
        code = await self.host.run_stream(argv, output.line, cwd=str(self.config_dir), env=self.env)
        if code != 0:
            raise output.failure(code, hint)

    async def service(self) -> tuple[dict[str, Any], list[str]]:
        """The dev service as compose resolves it (files merged, variables filled in), and the
        names of all services."""
        for file in self.files:
            if not Path(file).is_file():
                raise ConfigError(
                    f"compose file {file} does not exist",
                    "check dockerComposeFile; it is relative to the folder of devcontainer.json",
                )
        out: list[str] = []

        def collect(text: str) -> None:
            out.append(text)

        code = await self.host.run_stream(
            self._argv("config", "--format", "json"),
            collect,
            cwd=str(self.config_dir),
            env=self.env,
        )
        text = "\n".join(out)
        start = text.find("{")
        try:
            if code != 0 or start < 0:
                raise ValueError
            services = json.loads(text[start:]).get("services") or {}
        except ValueError:
            raise ConfigError(
                f"docker compose cannot read {', '.join(self.ref.files)}: "
                f"{(out[-1] if out else 'no output').strip()[:300]}",
                "check the compose files with: docker compose config",
            ) from None
        if self.ref.service not in services:
            raise ConfigError(
                f"service {self.ref.service!r} is not in {', '.join(self.ref.files)}",
                f"set service to one of: {', '.join(sorted(services)) or '(none)'}",
            )
        found: dict[str, Any] = services[self.ref.service]
        return found, sorted(services)

    async def build(self, tag: str, labels: Mapping[str, str], folder: Path) -> None:
        """Build the dev service's image as `tag` (its other settings as the files say)."""
        override = folder / "compose.build.json"
        service = {"image": tag, "build": {"labels": dict(labels)}}
        write_override(override, {self.ref.service: service})
        self.report.step(f"building the image of service {self.ref.service}")
        await self._run(
            self._argv("build", self.ref.service, override=override),
            f"building service {self.ref.service}",
            "fix the service's build settings, then run podbay up again",
        )

    async def up(self, dev_service: dict[str, Any], others: list[str], folder: Path) -> None:
        """Create and start the project: the dev service with podbay's settings, the services
        runServices names (all by default)."""
        services: dict[str, Any] = {n: {"labels": {LABEL_PART_OF: self.project}} for n in others}
        services[self.ref.service] = dev_service
        override = folder / "compose.override.json"
        write_override(override, services)
        wanted = self.ref.run_services
        names = [] if wanted is None else sorted({*wanted, self.ref.service})
        self.report.step(
            f"starting compose project {self.project} ({', '.join(names) or 'all services'})"
        )
        await self._run(
            self._argv("up", "-d", *names, override=override),
            "docker compose up",
            "see podbay logs NAME for compose's output, fix the files, then podbay up again",
        )


def write_override(path: Path, services: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps({"services": services}, indent=1), encoding="utf-8")


async def part_of(
    docker: DockerEndpoint, dev: dict[str, Any], action: str, report: Reporter
) -> None:
    """Start, stop or remove the other services of a compose workspace's project."""
    labels = (dev.get("Config") or {}).get("Labels") or dev.get("Labels") or {}
    project = labels.get(LABEL_PART_OF)
    if not project:
        return
    others = await asyncio.to_thread(docker.list_containers, {LABEL_PART_OF: project})
    others = [c for c in others if c["Id"] != dev.get("Id")]
    for other in others:
        name = ((other.get("Names") or ["?"])[0]).lstrip("/")
        running = other.get("State") == "running"
        if action == "start" and not running:
            report.step(f"starting service container {name}")
            await asyncio.to_thread(docker.start, other["Id"])
        elif action == "stop" and running:
            report.step(f"stopping service container {name}")
            await asyncio.to_thread(docker.stop, other["Id"])
        elif action == "remove":
            report.step(f"removing service container {name}")
            await asyncio.to_thread(docker.remove, other["Id"])
