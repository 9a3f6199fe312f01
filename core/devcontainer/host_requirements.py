"""PURE: hostRequirements (cpus, memory, storage) against what the engine's machine has."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


class Machine(BaseModel):
    """What the engine's machine has, for hostRequirements."""

    cpus: int
    memory: int  # bytes
    free: int | None  # bytes free where the engine keeps images and containers; None: unknown


def host_shortfalls(wanted: Mapping[str, Any] | None, machine: Machine) -> list[str]:
    """A warning for each hostRequirements figure the machine does not reach (cpus, memory,
    storage; the GPU is handled with the container's options, in core.devcontainer.run_args)."""
    if not wanted:
        return []
    warnings = []
    cpus = int(wanted.get("cpus") or 0)
    if cpus and machine.cpus and machine.cpus < cpus:
        warnings.append(f"hostRequirements asks for {cpus} CPUs; this machine has {machine.cpus}")
    memory = int(wanted.get("memory") or 0)
    if memory and machine.memory and machine.memory < memory:
        warnings.append(
            f"hostRequirements asks for {_gb(memory)} of memory; this machine has "
            f"{_gb(machine.memory)}"
        )
    storage = int(wanted.get("storage") or 0)
    if storage and machine.free is not None and machine.free < storage:
        warnings.append(
            f"hostRequirements asks for {_gb(storage)} of storage; {_gb(machine.free)} is free"
        )
    return warnings


def _gb(size: int) -> str:
    return f"{size / 1024**3:.1f} GB".replace(".0 GB", " GB")
