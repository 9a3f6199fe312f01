"""Shell scripts podbay runs in containers, kept in assets/ (where `make lint` shellchecks them)."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def text(name: str) -> str:
    """assets/NAME as written (for files copied into a build)."""
    return resources.files("podbay.assets").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def command(name: str, **values: str) -> str:
    """assets/NAME as one `sh -c` argument: without its comment lines, @KEY@ filled in."""
    lines = [line for line in text(name).splitlines() if not line.lstrip().startswith("#")]
    script = "\n".join(lines).strip()
    for key, value in values.items():
        script = script.replace(f"@{key}@", value)
    return script
