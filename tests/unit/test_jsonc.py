from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podbay.core.devcontainer import jsonc
from podbay.core.errors import ConfigError


def test_comments_and_trailing_commas_are_accepted() -> None:
    text = """
    // leading comment
    {
      /* block
         comment */
      "image": "debian", // after a value
      "list": [1, 2, 3,],
      "nested": {"a": true,},
    }
    """
    assert jsonc.parse(text).value == {
        "image": "debian",
        "list": [1, 2, 3],
        "nested": {"a": True},
    }


def test_comment_markers_inside_strings_stay_text() -> None:
    doc = jsonc.parse('{"url": "https://example.org//x", "glob": "/* not a comment */"}')
    assert doc.value == {"url": "https://example.org//x", "glob": "/* not a comment */"}


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ('{\n  "a": 1\n  "b": 2\n}', "3:3", "expected ',' or '}'"),
        ('{"a": 1,,}', "1:9", "expected a property name"),
        ("{'a': 1}", "1:2", "expected a property name in double quotes"),
        ('{"a": tru}', "1:7", "expected a value"),
        ('{"a": [1, 2}', "1:12", "expected ',' or ']'"),
        ('{"a": 1} x', "1:10", "after the end of the document"),
        ('{"a": 1 /* open', "1:9", "unterminated /* comment"),
        ("", "1:1", "empty"),
        ('{"a": "x\ny"}', "1:", "bad string"),
        ('{"a": 01}', "1:8", "expected ',' or '}'"),
    ],
)
def test_malformed_input_is_an_error_with_line_and_column(
    text: str, where: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        jsonc.parse(text, "dc.json")
    assert info.value.message.startswith(f"dc.json:{where}")
    assert words in info.value.message
    assert info.value.hint


def test_positions_of_values_and_keys() -> None:
    doc = jsonc.parse('{\n  "env": {\n    "A": 1\n  }\n}', "f.json")
    assert doc.where(("env", "A")) == "f.json:3:10"
    assert doc.where(("env", "A"), key=True) == "f.json:3:5"
    assert doc.where(("env", "missing")) == "f.json:2:10"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_any_json_document_parses_to_the_same_value(value: Any) -> None:
    assert jsonc.parse(json.dumps(value)).value == value
    assert jsonc.parse(json.dumps(value, indent=2)).value == value


@given(json_values, st.sampled_from(["// c\n", "/* c */", " ", "\n"]))
def test_comments_between_tokens_change_nothing(value: Any, filler: str) -> None:
    text = json.dumps(value, indent=1)
    # A comment after every line break outside strings (json.dumps never breaks inside one).
    commented = text.replace("\n", "\n" + filler)
    assert jsonc.parse(filler + commented + filler).value == value
