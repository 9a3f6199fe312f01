"""A strict JSONC reader: JSON plus comments and trailing commas, nothing else.

It records where every value starts so that type errors can name file:line:col. Unlike the
reference CLI (which silently recovers from syntax errors), anything malformed is an error.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

from podbay.core.errors import ConfigError

JsonPath = tuple[str | int, ...]

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WS = " \t\r\n\ufeff"


@dataclass
class Document:
    """A parsed file: the value plus where each value (by JSON path) starts."""

    value: Any
    text: str
    filename: str
    offsets: dict[JsonPath, int] = field(default_factory=dict)
    key_offsets: dict[JsonPath, int] = field(default_factory=dict)

    def where(self, path: JsonPath, *, key: bool = False) -> str:
        """`file:line:col` of the value at `path` (or of its key), or of its nearest parent."""
        table = self.key_offsets if key else self.offsets
        probe = path
        while probe not in table and probe:
            probe = probe[:-1]
        offset = table.get(probe, 0)
        line, col = line_col(self.text, offset)
        return f"{self.filename}:{line}:{col}"


MAX_DEPTH = 100  # far beyond any real config; deeper is refused, not a RecursionError


def line_col(text: str, offset: int) -> tuple[int, int]:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    line = bisect.bisect_right(starts, offset) - 1
    return line + 1, offset - starts[line] + 1


def parse(text: str, filename: str = "<string>") -> Document:
    """Parse JSONC text; raise ConfigError with file:line:col on any syntax error."""
    doc = Document(value=None, text=text, filename=filename)
    parser = _Parser(text, doc)
    parser.skip()
    if parser.pos >= len(text):
        parser.fail("the file is empty; expected a JSON object")
    doc.value = parser.value(())
    parser.skip()
    if parser.pos < len(text):
        parser.fail(f"unexpected {parser.describe()} after the end of the document")
    return doc


class _Parser:
    def __init__(self, text: str, doc: Document) -> None:
        self.text = text
        self.pos = 0
        self.doc = doc

    def fail(self, message: str, at: int | None = None) -> None:
        line, col = line_col(self.text, self.pos if at is None else at)
        raise ConfigError(
            f"{self.doc.filename}:{line}:{col}: {message}",
            "fix the JSON syntax (comments and trailing commas are allowed, nothing else)",
        )

    def describe(self) -> str:
        if self.pos >= len(self.text):
            return "end of file"
        return repr(self.text[self.pos])

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in _WS:
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self.fail("unterminated /* comment")
                self.pos = end + 2
            else:
                return

    def value(self, path: JsonPath) -> Any:
        self.skip()
        self.doc.offsets[path] = self.pos
        if self.pos >= len(self.text):
            self.fail("unexpected end of file; expected a value")
        ch = self.text[self.pos]
        if ch in "{[" and len(path) >= MAX_DEPTH:
            self.fail(f"objects and arrays are nested more than {MAX_DEPTH} levels deep here")
        if ch == "{":
            return self.obj(path)
        if ch == "[":
            return self.array(path)
        if ch == '"':
            return self.string()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return val
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            num = match.group()
            return float(num) if any(c in num for c in ".eE") else int(num)
        self.fail(f"unexpected {self.describe()}; expected a value")
        return None  # pragma: no cover - fail() raises

    def string(self) -> str:
        start = self.pos
        try:
            result, end = json.decoder.scanstring(self.text, self.pos + 1, True)  # type: ignore[attr-defined]
        except json.JSONDecodeError as exc:
            reason = "control character" if "control" in exc.msg else exc.msg.lower()
            self.fail(f"bad string: {reason}", at=exc.pos)
        if "\n" in self.text[start:end]:
            self.fail("line break inside a string", at=start)
        self.pos = end
        return str(result)

    def obj(self, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.pos += 1
        while True:
            self.skip()
            if self.pos >= len(self.text):
                self.fail("unexpected end of file; expected '}'")
            if self.text[self.pos] == "}":
                self.pos += 1
                return result
            if self.text[self.pos] != '"':
                self.fail(
                    f"unexpected {self.describe()}; expected a property name in double quotes"
                )
            key_at = self.pos
            key = self.string()
            self.doc.key_offsets[(*path, key)] = key_at
            self.skip()
            if self.pos >= len(self.text) or self.text[self.pos] != ":":
                self.fail(f"unexpected {self.describe()}; expected ':' after {key!r}")
            self.pos += 1
            result[key] = self.value((*path, key))
            self.skip()
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
            elif self.pos < len(self.text) and self.text[self.pos] == "}":
                continue
            else:
                self.fail(f"unexpected {self.describe()}; expected ',' or '}}'")

    def array(self, path: JsonPath) -> list[Any]:
        result: list[Any] = []
        self.pos += 1
        while True:
            self.skip()
            if self.pos >= len(self.text):
                self.fail("unexpected end of file; expected ']'")
            if self.text[self.pos] == "]":
                self.pos += 1
                return result
            result.append(self.value((*path, len(result))))
            self.skip()
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
            elif self.pos < len(self.text) and self.text[self.pos] == "]":
                continue
            else:
                self.fail(f"unexpected {self.describe()}; expected ',' or ']'")
