"""Container and image operations on one Docker endpoint.

The API work is blocking (the engine calls these methods through `asyncio.to_thread`): for an
engine on a unix socket, the calls made often go through core.docker_api (the standard library
only); the docker SDK does the rest, and everything for tcp:// and ssh:// engines. Containers
are created with the docker CLI instead, because devcontainer.json's `runArgs`, `mounts` and
`workspaceMount` are written in `docker run` syntax; the CLI is the one faithful interpreter of
it (the reference devcontainer CLI does the same).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from podbay.core.devcontainer.values import shown
from podbay.core.docker_api import ApiError, ExecOutput, UnixAPI, Unreachable
from podbay.core.docker_cli import current_context_host, docker_cli
from podbay.core.docker_create import create_request
from podbay.core.errors import ConfigError, DockerError, DockerUnreachable, ImageNotFound

__all__ = ["DockerEndpoint", "current_context_host", "docker_cli", "import_sdk", "split_image"]

if TYPE_CHECKING:
    import docker

START_HINT = "start it (systemctl start docker, or run dockerd), or point DOCKER_HOST at an engine"


def import_sdk(ssh: bool) -> ModuleType:
    """Import the docker SDK, loading paramiko only for ssh:// endpoints.

    The SDK imports its SSH adapter, and with it paramiko (about 75 ms), on every import when
    paramiko is installed. podbay reaches ssh:// engines through the user's own `ssh` (so their
    config and agent apply); paramiko is only needed for the adapter's module to load.
    """
    if "docker" not in sys.modules and not ssh and "paramiko" not in sys.modules:
        sys.modules["paramiko"] = None  # type: ignore[assignment]  # import now raises ImportError
        try:
            import docker
        finally:
            del sys.modules["paramiko"]
    import docker
    import docker.api.client

    if ssh and not hasattr(docker.api.client, "SSHHTTPAdapter"):
        from docker.transport.sshconn import SSHHTTPAdapter

        docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter  # type: ignore[attr-defined]
    return docker


class ByteStream(Protocol):
    """Output of a command in a container; close() stops reading from another thread."""

    def __iter__(self) -> Iterator[bytes]: ...

    def __next__(self) -> bytes: ...

    def close(self) -> None: ...


class DockerEndpoint:
    """One Docker engine: `host` is a DOCKER_HOST-style URL, or None for the environment's."""

    def __init__(self, host: str | None = None) -> None:
        self.host = host or os.environ.get("DOCKER_HOST") or None
        self._client: docker.DockerClient | None = None
        self._quick: docker.DockerClient | None = None
        self._lock = threading.Lock()
        url = self.host or "unix:///var/run/docker.sock"
        self._unix = (
            UnixAPI(url.removeprefix("unix://"), QUICK_SECONDS)
            if url.startswith("unix://")
            else None
        )

    @property
    def label(self) -> str:
        return self.host or "unix:///var/run/docker.sock"

    def client(self) -> docker.DockerClient:
        """The client for everything, streams included (a long read timeout)."""
        return self._make(quick=False)

    def _make(self, quick: bool) -> docker.DockerClient:
        ssh = bool(self.host and self.host.startswith("ssh://"))
        with self._lock:
            made = self._quick if quick else self._client
            if made is not None:
                return made
            sdk = import_sdk(ssh=ssh)
            try:
                # The engine's API version is asked once, with the short timeout.
                version = self._quick.api.api_version if self._quick is not None else None
                new: docker.DockerClient = sdk.DockerClient(
                    base_url=self.host or "unix:///var/run/docker.sock",
                    use_ssh_client=ssh,
                    timeout=QUICK_SECONDS if quick else STREAM_SECONDS,
                    version=version,
                )
            except sdk.errors.DockerException as exc:
                raise self.unreachable(exc) from None
            if quick:
                self._quick = new
            else:
                self._client = new
            return new

    def unreachable(self, exc: BaseException) -> DockerUnreachable:
        reason = str(exc).split("\n")[0]
        if "timed out" in reason.lower():
            return DockerUnreachable(
                f"Docker at {self.label} did not answer in time",
                "is dockerd stuck? check it with: docker info (restart it if it hangs)",
            )
        if "FileNotFoundError" in reason or "No such file" in reason:
            reason = "no socket there"
        elif "Connection refused" in reason or "ConnectionRefused" in reason:
            reason = "connection refused"
        elif "Permission denied" in reason or "PermissionError" in reason:
            return DockerUnreachable(
                f"permission denied on the Docker socket {self.label}",
                "add yourself to the docker group (then log in again) or run as root",
            )
        return DockerUnreachable(
            f"cannot reach Docker at {self.label} ({reason[:120]})", START_HINT
        )

    def api(self) -> Any:
        self._make(quick=True)  # the API version, asked with the short timeout
        return self.client().api

    def quick(self) -> Any:
        """The API with a short read timeout, for queries that answer at once (list, inspect,
        ping): an engine that accepts and never answers is reported in seconds, not minutes.
        Streams (pull, exec, logs) keep the long timeout, as a quiet hook is not a hang."""
        return self._make(quick=True).api

    def call(
        self,
        what: str,
        fn: Callable[..., Any],
        *args: Any,
        hint: str = "see `docker info`",
        **kwargs: Any,
    ) -> Any:
        """Run one SDK call, turning transport failures into DockerUnreachable."""
        import docker
        import requests

        try:
            return fn(*args, **kwargs)
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            raise self.unreachable(exc) from None
        except docker.errors.APIError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                raise
            message = (exc.explanation or str(exc)).split("\n")[0]
            raise DockerError(f"{what} failed: {message}", hint) from None
        except docker.errors.DockerException as exc:
            raise self.unreachable(exc) from None

    def ask(
        self,
        what: str,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        hint: str = "see `docker info`",
        missing: bool = False,
        timeout: float = 0,
    ) -> Any:
        """One call of the engine's API on its unix socket (core.docker_api); `missing`: a 404
        answers None rather than an error."""
        assert self._unix is not None
        try:
            return self._unix.request(method, path, query, timeout=timeout or QUICK_SECONDS)
        except Unreachable as exc:
            raise self.unreachable(exc) from None
        except ApiError as exc:
            if missing and exc.status == 404:
                return None
            message = exc.message.split("\n")[0]
            raise DockerError(f"{what} failed: {message}", hint) from None

    # queries -------------------------------------------------------------------------------

    def ping(self) -> None:
        if self._unix is not None:
            self.ask("ping", "GET", "/_ping")
            return
        self.call("ping", self.quick().ping)

    def info(self) -> dict[str, Any]:
        if self._unix is not None:
            answer: dict[str, Any] = self.ask("reading engine info", "GET", "/info")
            return answer
        result: dict[str, Any] = self.call("reading engine info", self.api().info)
        return result

    def list_containers(self, labels: dict[str, str | None]) -> list[dict[str, Any]]:
        """All containers carrying these labels (a None value: with any value), in ONE API call
        (no per-container inspect)."""
        filters = {"label": [k if v is None else f"{k}={v}" for k, v in labels.items()]}
        if self._unix is not None:
            query = {"all": "1", "filters": json.dumps(filters)}
            found: list[dict[str, Any]] = self.ask(
                "listing containers", "GET", "/containers/json", query
            )
            return found
        result: list[dict[str, Any]] = self.call(
            "listing containers", self.quick().containers, all=True, filters=filters
        )
        return result

    def inspect_container(self, container: str) -> dict[str, Any] | None:
        if self._unix is not None:
            found: dict[str, Any] | None = self.ask(
                "inspecting a container", "GET", f"/containers/{container}/json", missing=True
            )
            return found
        import docker

        try:
            result: dict[str, Any] = self.call(
                "inspecting a container", self.quick().inspect_container, container
            )
        except docker.errors.NotFound:
            return None
        return result

    def inspect_image(self, image: str) -> dict[str, Any] | None:
        if self._unix is not None:
            try:
                found: dict[str, Any] | None = self.ask(
                    "inspecting an image", "GET", f"/images/{image}/json", missing=True
                )
            except DockerError:
                return None
            return found
        import docker

        try:
            result: dict[str, Any] = self.call(
                "inspecting an image", self.quick().inspect_image, image
            )
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError:
            return None
        return result

    # effects -------------------------------------------------------------------------------

    def pull(
        self,
        image: str,
        progress: Callable[[int, int, str], None],
        login: tuple[str, str] | None = None,
    ) -> None:
        """Pull `image`, reporting (bytes done, bytes total, status) as layers download. With
        `login` (user, password), the pull carries it instead of the docker SDK's lookup of
        this computer's docker config; it is sent with the request, never stored."""
        import docker
        import requests

        repository, tag = split_image(image)
        layers: dict[str, tuple[int, int]] = {}
        last = 0.0
        auth = _auth_config(login)
        try:
            stream = self.api().pull(
                repository, tag=tag, stream=True, decode=True, auth_config=auth
            )
            for event in stream:
                if "error" in event:
                    raise ImageNotFound(
                        f"image {image} is not here and could not be pulled: "
                        f"{str(event['error']).splitlines()[0][:160]}",
                        "check the name and tag, the network, or `docker login` for private images",
                    )
                detail = event.get("progressDetail") or {}
                if event.get("id") and detail.get("total"):
                    layers[event["id"]] = (int(detail.get("current", 0)), int(detail["total"]))
                elif event.get("id") and event.get("status") in ("Pull complete", "Already exists"):
                    done = layers.get(event["id"], (0, 0))[1]
                    layers[event["id"]] = (done, done)
                now = time.monotonic()
                if now - last > 0.25 or event.get("status", "").startswith("Status:"):
                    last = now
                    progress(
                        sum(c for c, _ in layers.values()),
                        sum(t for _, t in layers.values()),
                        str(event.get("status", "")),
                    )
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            if "timed out" in str(exc).lower():
                raise ImageNotFound(
                    f"pulling {image} stalled: nothing came for {STREAM_SECONDS} s",
                    "check the network or the registry, then run podbay up again",
                ) from None
            raise self.unreachable(exc) from None
        except docker.errors.APIError as exc:
            text = exc.explanation or str(exc)
            raise ImageNotFound(
                f"image {image} is not here and could not be pulled: "
                f"{str(text).splitlines()[0][:160]}",
                "check the name and tag, the network, or `docker login` for private images",
            ) from None

    def distribution(self, image: str, login: tuple[str, str] | None = None) -> str | None:
        """The digest the registry has for `image` (asked by the engine, as a pull would ask),
        or None when the registry has no such tag; DockerError when it cannot say."""
        import docker

        try:
            answer = self.call(
                f"asking the registry for {image}",
                self.api().inspect_distribution,
                image,
                auth_config=_auth_config(login),
                hint="check the network, the address, or `docker login` for the registry",
            )
        except docker.errors.NotFound:
            return None
        return str((answer.get("Descriptor") or {}).get("digest") or "") or None

    def push(
        self,
        image: str,
        on_layer: Callable[[str], None],
        login: tuple[str, str] | None = None,
    ) -> str:
        """Push `image` (repo:tag) and return the digest the registry gave it, each layer's
        outcome said to `on_layer`; `login` as for pull, else this computer's docker login
        (the docker SDK reads it)."""
        repository, tag = split_image(image)
        digest = ""
        stream = self.call(
            f"pushing {image}",
            self.api().push,
            repository,
            tag=tag,
            stream=True,
            decode=True,
            auth_config=_auth_config(login),
        )
        import requests

        try:
            for event in stream:
                if "error" in event:
                    said = (str(event["error"]).splitlines() or [""])[0]
                    raise DockerError(
                        f"the registry refused the push of {image}: {shown(said, 200)}",
                        f"log in with: docker login {image.partition('/')[0]} (an account that "
                        "may push to this repository)",
                    )
                digest = str((event.get("aux") or {}).get("Digest") or digest)
                status = str(event.get("status") or "")
                if event.get("id") and status in ("Pushed", "Layer already exists"):
                    on_layer(f"layer {shown(str(event['id']), 80)}: {status.lower()}")
        except (requests.exceptions.RequestException, OSError) as exc:
            raise DockerError(
                f"the push of {image} stopped: {type(exc).__name__}",
                "check the network and the registry, then push again",
            ) from None
        if not digest:
            raise DockerError(f"the push of {image} ended without a digest", "try again")
        return digest

    def create(self, args: list[str]) -> str:
        """`docker create ARGS...`; returns the new container's id. Arguments podbay writes go
        as one API request (core/docker_create.py); others, and a missing image (which the CLI
        pulls), to the CLI."""
        check_argv(args)
        unix = self._unix
        request = create_request(args) if unix is not None else None
        if unix is not None and request is not None:
            name, body = request
            try:
                path, query = "/containers/create", {"name": name}
                # As long as the CLI would wait: a busy engine may take its time.
                created = unix.request("POST", path, query, body, timeout=STREAM_SECONDS)
                return str(created["Id"])
            except Unreachable as exc:
                raise self.unreachable(exc) from None
            except ApiError as exc:
                if exc.status != 404:  # else the CLI: it pulls a missing image
                    reason = exc.message.split("\n")[0][:300]
                    message = f"creating the container failed: {reason}"
                    raise DockerError(message, _CREATE_HINT) from None
        env = dict(os.environ)
        if self.host:
            env["DOCKER_HOST"] = self.host
        result = subprocess.run(
            [docker_cli(), "create", *args],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            message = cli_reason(result.stderr)
            if "Cannot connect to the Docker daemon" in result.stderr:
                raise DockerUnreachable(f"cannot reach Docker at {self.label}", START_HINT)
            raise DockerError(f"creating the container failed: {message[:300]}", _CREATE_HINT)
        return result.stdout.strip().splitlines()[-1]

    def start(self, container: str) -> None:
        hint = (
            "check appPort, containerUser, runArgs and mounts in devcontainer.json; once "
            "fixed, podbay up makes the container again"
        )
        if self._unix is not None:
            path = f"/containers/{container}/start"
            self.ask("starting the container", "POST", path, hint=hint, timeout=STREAM_SECONDS)
            return
        self.call("starting the container", self.api().start, container, hint=hint)

    def stop(self, container: str, timeout: int = 10) -> None:
        if self._unix is not None:
            path = f"/containers/{container}/stop"
            wait = timeout + STREAM_SECONDS
            self.ask("stopping the container", "POST", path, {"t": timeout}, timeout=wait)
            return
        self.call("stopping the container", self.api().stop, container, timeout=timeout)

    def list_images(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        if self._unix is not None:
            query = {"filters": json.dumps(filters)}
            found: list[dict[str, Any]] = self.ask("listing images", "GET", "/images/json", query)
            return found
        result: list[dict[str, Any]] = self.call(
            "listing images", self.quick().images, all=False, filters=filters
        )
        return result

    def remove_image(self, image: str) -> None:
        if self._unix is not None:
            path = f"/images/{image}"
            self.ask(
                "removing an image",
                "DELETE",
                path,
                {"force": "1"},
                missing=True,
                timeout=STREAM_SECONDS,
            )
            return
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            self.call("removing an image", self.api().remove_image, image, force=True)

    def prune_networks(self, labels: dict[str, str]) -> None:
        """Remove the unused networks carrying these labels (a compose project's)."""
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        if self._unix is not None:
            query = {"filters": json.dumps(filters)}
            self.ask("removing networks", "POST", "/networks/prune", query, timeout=STREAM_SECONDS)
            return
        self.call("removing networks", self.api().prune_networks, filters=filters)

    def remove(self, container: str) -> None:
        if self._unix is not None:
            path = f"/containers/{container}"
            query = {"force": "1", "v": "1"}
            # Removing a large writable layer or its volumes takes Docker a while.
            self.ask(
                "removing the container",
                "DELETE",
                path,
                query,
                missing=True,
                timeout=STREAM_SECONDS,
            )
            return
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            self.call(
                "removing the container", self.api().remove_container, container, force=True, v=True
            )

    def exec_stream(
        self,
        container: str,
        argv: list[str],
        user: str | None,
        workdir: str | None,
        env: dict[str, str],
    ) -> tuple[ByteStream, Callable[[], int]]:
        """Start a command in the container; returns (output chunks, exit code getter)."""
        if self._unix is not None:
            return self._unix_exec(container, argv, user, workdir, env, stdin=False)
        api = self.api()
        created = self.call(
            "starting a command in the container",
            api.exec_create,
            container,
            argv,
            user=exec_user(user),
            workdir=workdir,
            environment=env,
            stdin=False,
            tty=False,
        )
        exec_id = created["Id"]
        output = self.call("running a command", api.exec_start, exec_id, stream=True)

        def exit_code() -> int:
            info = self.call("reading a command's result", api.exec_inspect, exec_id)
            return int(info.get("ExitCode") or 0)

        return output, exit_code

    @property
    def feeds_input(self) -> bool:
        """Whether exec_with_input works here: on a unix socket (this engine's API client)."""
        return self._unix is not None

    def exec_with_input(
        self, container: str, argv: list[str], user: str | None, env: dict[str, str]
    ) -> tuple[ExecOutput, Callable[[], int]]:
        """exec_stream with the command's input open: written with send(), ended with
        end_input() on the output. Only where feeds_input."""
        return self._unix_exec(container, argv, user, None, env, stdin=True)

    def _unix_exec(
        self,
        container: str,
        argv: list[str],
        user: str | None,
        workdir: str | None,
        env: dict[str, str],
        stdin: bool,
    ) -> tuple[ExecOutput, Callable[[], int]]:
        unix = self._unix
        assert unix is not None
        try:
            output, exec_id = unix.exec_stream(
                container, argv, exec_user(user), workdir, env, stdin=stdin
            )
        except Unreachable as exc:
            raise self.unreachable(exc) from None
        except ApiError as exc:
            reason = exc.message.split("\n")[0]
            raise DockerError(f"starting a command in the container failed: {reason}", "") from None

        def read_exit_code() -> int:
            path = f"/exec/{exec_id}/json"
            return int(self.ask("reading a command's result", "GET", path).get("ExitCode") or 0)

        return output, read_exit_code

    def inspect_volume(self, name: str) -> dict[str, Any] | None:
        if self._unix is not None:
            found: dict[str, Any] | None = self.ask(
                "inspecting a volume", "GET", f"/volumes/{name}", missing=True
            )
            return found
        import docker

        try:
            result: dict[str, Any] = self.call(
                "inspecting a volume", self.quick().inspect_volume, name
            )
        except docker.errors.NotFound:
            return None
        return result

    def fill_volume(self, name: str, image: str, data: bytes, labels: dict[str, str]) -> None:
        """A named volume holding the tar `data`: extracted through a container of `image` that
        never starts (any local image will do), removed afterwards."""
        import docker

        api = self.api()
        if self.inspect_volume(name) is not None:  # a fill that stopped half way: again
            self.call("removing a volume", api.remove_volume, name)
        self.call("making a volume", api.create_volume, name, labels=labels)
        mount = docker.types.Mount("/fill", name, type="volume")
        made = self.call(
            "making a volume",
            api.create_container,
            image,
            command=["true"],
            entrypoint=[],
            network_disabled=True,
            host_config=api.create_host_config(mounts=[mount]),
        )
        try:
            self.call("filling a volume", api.put_archive, made["Id"], "/fill", data)
        except BaseException:
            # Half a volume must not pass for a whole one next time.
            with contextlib.suppress(Exception):
                api.remove_container(made["Id"], force=True, v=True)
            with contextlib.suppress(Exception):
                api.remove_volume(name)
            raise
        self.call("making a volume", api.remove_container, made["Id"], force=True, v=True)

    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        self.call("making a volume", self.api().create_volume, name, labels=labels)

    def remove_volumes(self, label: str, keep: tuple[str, ...]) -> None:
        """Remove the volumes carrying `label` but those to `keep`; one a container uses stays
        (Docker refuses), to go next time, and so does its `-ready` twin: a volume in use keeps
        counting as whole (another machine sharing this engine may have made it)."""
        import docker

        api = self.api()
        found = self.call("listing volumes", api.volumes, filters={"label": label})
        names = [v["Name"] for v in found.get("Volumes") or [] if v["Name"] not in keep]
        left = set()
        for name in sorted(names, key=lambda n: n.endswith("-ready")):  # twins last
            if name.endswith("-ready") and name.removesuffix("-ready") in left:
                continue
            try:
                api.remove_volume(name)
            except docker.errors.APIError:
                left.add(name)

    def put_archive(self, container: str, path: str, data: bytes) -> None:
        """Extract a tar archive into the container at `path`."""
        self.call("copying files into the container", self.api().put_archive, container, path, data)


QUICK_SECONDS = 20  # queries that answer at once: list, inspect, ping
STREAM_SECONDS = 120  # the longest silence of a pull or a call (exec and attach streams have none)

# Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN).
_MAX_ARGUMENT = 128 * 1024 - 1


_CREATE_HINT = (
    "check runArgs, mounts, appPort, containerEnv and workspaceMount in devcontainer.json"
)


def check_argv(argv: list[str]) -> None:
    """Values a program cannot be given: a NUL, or one argument over Linux's limit."""
    for arg in argv:
        if "\x00" in arg:
            raise ConfigError(
                f"a value podbay passes to docker contains a NUL character: {arg[:60]!r}",
                "remove the NUL (\\u0000) from devcontainer.json",
            )
        if len(arg.encode()) > _MAX_ARGUMENT:
            raise ConfigError(
                f"a value podbay passes to docker is {len(arg.encode()) // 1024} KiB, over "
                f"Linux's limit of 128 KiB for one argument: {arg[:40]!r}...",
                "shorten it in devcontainer.json",
            )


def cli_reason(stderr: str) -> str:
    """The docker CLI's reason: its first error line (the last is often only a usage hint)."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in lines:
        lowered = line.lower()
        if lowered.startswith(("error", "docker: error")) or "invalid" in lowered:
            return (
                line.removeprefix("docker: ")
                .removeprefix("Error: ")
                .removeprefix("Error response from daemon: ")
            )
    return lines[-1] if lines else "no output"


def exec_user(user: str | None) -> str:
    """The user for `docker exec -u`: root by id, which works without /etc/passwd (busybox)."""
    return "0" if user in (None, "", "root") else user


def _auth_config(login: tuple[str, str] | None) -> dict[str, str] | None:
    """A login as docker-py sends it (an identity token's user is <token>); None: docker-py
    reads this computer's docker login itself."""
    if login is None:
        return None
    user, secret = login
    return (
        {"identitytoken": secret} if user == "<token>" else {"username": user, "password": secret}
    )


def split_image(image: str) -> tuple[str, str]:
    """`repo[:tag][@digest]` -> (repo, tag or digest); the tag defaults to latest."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, "latest"
