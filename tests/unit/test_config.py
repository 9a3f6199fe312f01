from __future__ import annotations

from pathlib import Path

import pytest

from podbay.core.devcontainer import config, find
from podbay.core.errors import ConfigError, ConfigNotFound, SeveralConfigs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"image": 3}', "dc.json:1:11: image expected a string, got a number"),
        ('{\n "containerEnv": {"A": 1}\n}', "dc.json:2:24: containerEnv.A expected a string"),
        ('{"runArgs": "--init"}', "runArgs expected an array of strings, got a string"),
        ('{"postCreateCommand": 5}', "postCreateCommand expected a string, an array of strings"),
        ('{"init": "yes"}', "init expected true or false, got a string"),
        ('{"forwardPorts": [true]}', "forwardPorts.0 expected a number or a string, got a boolean"),
        ('{"mounts": [{"type": "tmpfs", "target": "/x"}]}', "mounts.0"),
        ('["image"]', "dc.json:1:1: devcontainer.json must contain a JSON object"),
    ],
)
def test_wrong_types_are_rejected_with_file_line_col(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse(text, "dc.json")
    assert message in info.value.message
    assert info.value.hint


def test_unknown_properties_are_warned_about_with_their_position() -> None:
    loaded = config.parse('{\n  "image": "x",\n  "imagee": "y"\n}', "dc.json")
    assert loaded.warnings == ["dc.json:3:3: unknown property 'imagee' is ignored"]
    assert loaded.config.image == "x"


def test_every_lifecycle_form_is_accepted() -> None:
    loaded = config.parse(
        '{"onCreateCommand": "a", "postCreateCommand": ["b", "c"],'
        ' "postStartCommand": {"x": "d", "y": ["e"]}}',
        "dc.json",
    )
    assert loaded.config.postStartCommand == {"x": "d", "y": ["e"]}


def test_find_follows_the_specs_order_of_precedence(tmp_path: Path) -> None:
    """.devcontainer/devcontainer.json, then .devcontainer.json, then a subfolder's config."""
    for where in ("py", "gpu"):
        (tmp_path / ".devcontainer" / where).mkdir(parents=True)
        (tmp_path / ".devcontainer" / where / "devcontainer.json").write_text("{}")
    (tmp_path / ".devcontainer.json").write_text("{}")
    assert find.find(tmp_path) == tmp_path / ".devcontainer.json"
    (tmp_path / ".devcontainer" / "devcontainer.json").write_text("{}")
    assert find.find(tmp_path) == tmp_path / ".devcontainer" / "devcontainer.json"
    assert find.choices(tmp_path) == []


def test_several_subfolder_configs_are_chosen_by_the_user(tmp_path: Path) -> None:
    for where in ("py", "gpu"):
        (tmp_path / ".devcontainer" / where).mkdir(parents=True)
        (tmp_path / ".devcontainer" / where / "devcontainer.json").write_text("{}")
    with pytest.raises(SeveralConfigs) as info:
        find.find(tmp_path)
    assert ".devcontainer/gpu/devcontainer.json, .devcontainer/py/devcontainer.json" in (
        info.value.message
    )
    assert "--config .devcontainer/gpu/devcontainer.json" in info.value.hint
    assert find.choices(tmp_path) == [
        ".devcontainer/gpu/devcontainer.json",
        ".devcontainer/py/devcontainer.json",
    ]
    chosen = find.find(tmp_path, ".devcontainer/gpu/devcontainer.json")
    assert chosen == tmp_path / ".devcontainer" / "gpu" / "devcontainer.json"


@pytest.mark.parametrize(
    "where",
    [".devcontainer/devcontainer.json", ".devcontainer.json", ".devcontainer/py/devcontainer.json"],
)
def test_find_each_spec_location(tmp_path: Path, where: str) -> None:
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text("{}")
    assert find.find(tmp_path) == tmp_path / where


def test_find_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound) as info:
        find.find(tmp_path)
    assert "--image" in info.value.hint
    with pytest.raises(ConfigNotFound):
        find.find(tmp_path, "other/devcontainer.json")
