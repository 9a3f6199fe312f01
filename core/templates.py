"""Bundled quick-start templates: a devcontainer.json and a tiny sample app each, in assets/."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from podbay import assets
from podbay.core.devcontainer import jsonc


class Template(BaseModel):
    name: str
    title: str
    image: str
    path: Path


def root() -> Path:
    return Path(assets.__file__).parent / "templates"


def all_templates() -> list[Template]:
    found = []
    for folder in sorted(root().iterdir()):
        config = folder / ".devcontainer" / "devcontainer.json"
        if not config.is_file():
            continue
        data = jsonc.parse(config.read_text(), str(config)).value
        found.append(
            Template(
                name=folder.name,
                title=str(data.get("name", folder.name)),
                image=str(data.get("image", "")),
                path=folder,
            )
        )
    return found


def get(name: str) -> Template | None:
    return next((t for t in all_templates() if t.name == name), None)
