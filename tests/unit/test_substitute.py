from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podbay.core.devcontainer.ids import devcontainer_id
from podbay.core.devcontainer.substitute import (
    container_resolver,
    id_resolver,
    local_resolver,
    substitute,
)
from podbay.core.errors import ConfigError

LOCAL = local_resolver({"HOME": "/home/u", "EMPTY": ""}, "/src/proj", "/workspaces/proj")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${localEnv:HOME}/x", "/home/u/x"),
        ("${env:HOME}", "/home/u"),
        ("${localEnv:NOPE}", ""),
        ("${localEnv:NOPE:fallback}", "fallback"),
        ("${localEnv:NOPE:https://example.org:8080/x}", "https://example.org:8080/x"),
        ("${localEnv:EMPTY:unused}", ""),
        ("${localWorkspaceFolder}", "/src/proj"),
        ("${localWorkspaceFolderBasename}", "proj"),
        ("${containerWorkspaceFolder}/bin", "/workspaces/proj/bin"),
        ("${containerWorkspaceFolderBasename}", "proj"),
        ("${containerEnv:PATH}", "${containerEnv:PATH}"),
        ("${devcontainerId}", "${devcontainerId}"),
        ("${unknownThing}", "${unknownThing}"),
        ("$HOME ${HOME}", "$HOME ${HOME}"),
    ],
)
def test_first_pass(text: str, expected: str) -> None:
    assert substitute(text, LOCAL) == expected


def test_walks_values_not_keys() -> None:
    value = {"${localEnv:HOME}": ["${localEnv:HOME}", 3, {"k": "${localEnv:HOME}"}]}
    assert substitute(value, LOCAL) == {"${localEnv:HOME}": ["/home/u", 3, {"k": "/home/u"}]}


def test_later_passes() -> None:
    assert substitute("v-${devcontainerId}", id_resolver("abc")) == "v-abc"
    resolver = container_resolver({"PATH": "/bin"})
    assert substitute("${containerEnv:PATH}:${containerEnv:X:d}", resolver) == "/bin:d"


def test_variable_without_a_name_is_an_error() -> None:
    with pytest.raises(ConfigError):
        substitute("${localEnv}", LOCAL)


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40))
def test_text_without_variables_is_unchanged(text: str) -> None:
    assert substitute(text, LOCAL) == text


@given(st.text(alphabet=st.characters(blacklist_characters="}"), max_size=30))
def test_default_is_taken_whole(default: str) -> None:
    assert substitute(f"${{localEnv:UNSET_VAR:{default}}}", LOCAL) == default


def test_devcontainer_id_matches_the_reference_cli() -> None:
    # Vectors computed with the reference implementation (Node BigInt base 32).
    assert (
        devcontainer_id(
            {
                "devcontainer.local_folder": "/home/u/proj",
                "devcontainer.config_file": "/home/u/proj/.devcontainer/devcontainer.json",
            }
        )
        == "14ak8ob72e8kj9tspe40d7s4kp04qkoe2serr1g7b3oea7nffegl"
    )
    assert (
        devcontainer_id(
            {
                "devcontainer.local_folder": "/home/ü/proj",
                "devcontainer.config_file": "/home/ü/proj/.devcontainer.json",
            }
        )
        == "0nl9mik6ej2cer6go294jut9v706d5k2ah22meuo39nl32ta4fg0"
    )
