from __future__ import annotations

from pathlib import Path

import pytest

from podbay.core import source
from podbay.core.errors import SourceError


@pytest.mark.parametrize(
    ("text", "url", "ref"),
    [
        ("https://host/org/repo.git", "https://host/org/repo.git", None),
        ("https://host/org/repo.git@main", "https://host/org/repo.git", "main"),
        ("https://host/org/repo@feature/x", "https://host/org/repo", "feature/x"),
        ("https://user@host/org/repo", "https://user@host/org/repo", None),
        ("https://user@host/org/repo@v1", "https://user@host/org/repo", "v1"),
        ("git@host:org/repo.git", "git@host:org/repo.git", None),
        ("git@host:org/repo.git@0a1b2c3", "git@host:org/repo.git", "0a1b2c3"),
        ("file:///tmp/r@dev", "file:///tmp/r", "dev"),
    ],
)
def test_git_refs(text: str, url: str, ref: str | None) -> None:
    parsed = source.parse(text)
    assert (parsed.kind, parsed.value, parsed.ref) == ("git", url, ref)


def test_kinds(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    assert source.parse("proj", cwd=tmp_path).kind == "folder"
    assert source.parse("proj", cwd=tmp_path).value == str(tmp_path / "proj")
    assert source.parse("python", cwd=tmp_path).kind == "template"
    assert source.parse("template:go", cwd=tmp_path).kind == "template"
    assert source.parse("debian:bookworm", cwd=tmp_path).kind == "image"
    assert source.parse("ghcr.io/org/img:1", cwd=tmp_path).kind == "image"
    assert source.parse("", image="x:1").kind == "image"


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        source.parse("./nope", cwd=tmp_path)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(SourceError, match="is a file"):
        source.parse("file.txt", cwd=tmp_path)
    with pytest.raises(SourceError, match="no template"):
        source.parse("template:cobol", cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("https://host/org/My_Repo.git", "my-repo"),
        ("ghcr.io/org/img:1.2", "img"),
        ("debian:bookworm", "debian"),
        ("template:python", "python"),
    ],
)
def test_default_names(text: str, name: str) -> None:
    assert source.default_name(source.parse(text)) == name


def test_names_must_be_host_names() -> None:
    assert source.check_name("ok-1") == "ok-1"
    for bad in ("Bad", "-x", "a_b", "a.b", "x" * 64):
        with pytest.raises(SourceError):
            source.check_name(bad)
