"""Errors a user can cause: a one-line message and a hint, which the fronts print plainly."""

from __future__ import annotations


class PodbayError(Exception):
    """A failure the user can act on: `message` says what happened, `hint` what to do next."""

    kind = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(PodbayError):
    kind = "config"


class ConfigNotFound(PodbayError):
    kind = "config-not-found"


class SeveralConfigs(PodbayError):
    kind = "several-configs"


class SourceError(PodbayError):
    kind = "source"


class GitCloneFailed(PodbayError):
    kind = "git-clone"


class NameTaken(PodbayError):
    kind = "name-taken"


class UnknownWorkspace(PodbayError):
    kind = "unknown-workspace"


class UnknownProvider(PodbayError):
    kind = "unknown-provider"


class ProviderError(PodbayError):
    kind = "provider"


class DockerUnreachable(PodbayError):
    kind = "docker-unreachable"


class DockerError(PodbayError):
    kind = "docker"


class ImageNotFound(PodbayError):
    kind = "image-not-found"


class HookFailed(PodbayError):
    kind = "hook-failed"


class Cancelled(PodbayError):
    kind = "cancelled"


class WorkAtRisk(PodbayError):
    """`delete` would lose work that exists only in podbay's copy of the source, or in the
    container's anonymous volumes."""

    kind = "work-at-risk"

    def __init__(self, name: str, folder: str, work: list[str], other: list[str]) -> None:
        parts = ([f"work in {folder}: " + "; ".join(work)] if work else []) + other
        super().__init__(
            f"deleting {name} would lose " + "; ".join(parts),
            f"push or copy it first, or delete anyway: podbay delete {name} --force",
        )
        self.lost = work + other
