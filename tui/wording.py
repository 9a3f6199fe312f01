"""What the TUI says to do next, in its own words (keys, not commands): core states what is
wrong and which operation repairs it; each front says how to run that operation."""

from __future__ import annotations

from podbay.core.model import Status

NEXT_STEP = {
    Status.STOPPED: "press u to start it",
    Status.INCOMPLETE: "press u to finish it",
    Status.NOT_FOUND: "press u to make it again",
    Status.ERROR: "press u to try again (the Logs tab says what failed)",
}


def next_step(status: Status) -> str:
    return NEXT_STEP.get(status, "try again when it is done")
