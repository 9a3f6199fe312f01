"""Which hosts git in a session gets credentials for, and what the socket answers."""

from __future__ import annotations

import asyncio

import pytest

from podbay.core import git_access, git_credentials
from podbay.core.errors import PodbayError
from tests.conftest import Podbay
from tests.unit.test_cli_errors import assert_clean_error


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("git.example.org", ("https", "git.example.org")),
        ("Git.Example.org:8443", ("https", "git.example.org:8443")),
        ("http://10.0.0.5:8080/", ("http", "10.0.0.5:8080")),
    ],
)
def test_hosts_as_typed(typed: str, host: tuple[str, str]) -> None:
    assert git_credentials.check_host(typed) == host


@pytest.mark.parametrize("typed", ["ssh://git.example.org", "https://h/some/path", "", "a\nb"])
def test_what_is_not_a_host(typed: str) -> None:
    with pytest.raises(PodbayError):
        git_credentials.check_host(typed)


def test_the_socket_answers_get_for_allowed_hosts_only(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[bytes, git_access.Remote]] = []

    async def fill(request: bytes, where: git_access.Remote) -> bytes:
        asked.append((request, where))
        return b"username=me\npassword=pw\n"

    monkeypatch.setattr(git_access, "fill", fill)
    answer = git_credentials.answerer([("https", "git.example.org")])

    def ask(text: str) -> bytes:
        return asyncio.run(answer(text.encode()))

    get = "action=get\ntimeout=900\nprotocol=https\nhost=git.example.org\npath=me/r.git\n"
    assert ask(get) == b"username=me\npassword=pw\n"
    assert ask(get.replace("git.example.org", "evil.example.org")) == b""
    assert ask(get.replace("https", "http")) == b""
    assert ask(get.replace("action=get", "action=store") + "password=x\n") == b""
    assert len(asked) == 1 and asked[0][1].host == "git.example.org"


def test_git_hosts_bad_input_is_one_line(podbay: Podbay) -> None:
    assert_clean_error(podbay("git-hosts", "ghost"), "ghost")


def test_a_session_resets_the_helpers_of_the_lent_hosts_only() -> None:
    words = git_credentials.session_env("/tmp/podbay-git-x.sock", [("https", "h.example")])
    assert words.startswith("export PODBAY_GIT_CREDENTIALS=/tmp/podbay-git-x.sock ")
    assert "GIT_CONFIG_COUNT=2 " in words
    assert "GIT_CONFIG_KEY_0=credential.https://h.example.helper GIT_CONFIG_VALUE_0='' " in words
    assert "GIT_CONFIG_VALUE_1='!f() {" in words
    assert git_credentials.session_env("", [("https", "h.example")]) == ""
