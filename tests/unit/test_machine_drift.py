"""Drift of a workspace on its own machine is asked over SSH in the background: a poll shows the
last answer at once, never waits for the machine, never asks twice at a time, and keeps the last
answer when the machine does not answer."""

from __future__ import annotations

import asyncio

from podbay.core.model import Source, Workspace
from podbay.core.status import Drift

WS = Workspace(
    name="vm",
    provider="cloud",
    source=Source(kind="git", value="https://example.invalid/x.git"),
    folder="/home/podbay/workspaces/vm",
    owned_folder=True,
    container_name="vm",
)


def test_a_poll_shows_the_last_answer_and_asks_again_only_when_it_is_old() -> None:
    drift = Drift()
    answers: list[list[str] | Exception] = [["containerEnv"], TimeoutError(), ["features"]]
    asked: list[int] = []

    async def ask() -> list[str]:
        asked.append(1)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def scenario() -> None:
        assert drift.on_machine(WS, ask) == []  # nothing known yet; asked in the background
        assert drift.on_machine(WS, ask) == []  # in flight: not asked twice
        await drift.settled()
        assert drift.on_machine(WS, ask) == ["containerEnv"]
        assert len(asked) == 1  # a fresh answer is not asked again
        drift.MACHINE_EVERY = 0  # from here every answer is old
        assert drift.on_machine(WS, ask) == ["containerEnv"]
        await drift.settled()  # the machine did not answer: the last answer stays
        assert drift.on_machine(WS, ask) == ["containerEnv"]
        await drift.settled()
        assert drift.on_machine(WS, ask) == ["features"]
        assert len(asked) == 3

    asyncio.run(scenario())
