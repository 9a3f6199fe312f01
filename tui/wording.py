"""What the TUI says to do next, in its own words (keys, not commands): core states what is
wrong and which operation repairs it; each front says how to run that operation."""

from __future__ import annotations

import re

from podbay.core.model import Status

NEXT_STEP = {
    Status.STOPPED: "press u to start it",
    Status.INCOMPLETE: "press u to finish it",
    Status.NOT_FOUND: "press u to make it again",
    Status.ERROR: "press u to try again (the Logs tab says what failed)",
}


def next_step(status: Status) -> str:
    return NEXT_STEP.get(status, "try again when it is done")


# CLI commands in core's hints, as the TUI says them: its keys. Longest forms first. A word
# such as "run:" or "see:" before the command goes with it.
_LEAD = r"(?:run:? |see:? )?"
_ARG = r"[^\s;,()`'\"]++"  # possessive: `(?! --)` below never backtracks into it
_KEYS = [
    (rf"podbay (?:up|start) {_ARG} --rebuild", "press r (rebuild)"),
    (rf"podbay up {_ARG} --yes", "press u and allow it"),
    (rf"podbay (?:up|start) {_ARG}(?! --)", "press u"),
    (rf"podbay delete {_ARG}(?: --yes)?", "press d"),
    (rf"podbay stop {_ARG}", "press s"),
    (rf"podbay logs {_ARG}(?: --container)?", "see the Logs tab (l)"),
    (rf"podbay (?:exec|ssh) {_ARG}(?: -- {_ARG})?", "press enter for a shell"),
    (rf"podbay status {_ARG}", "see the Details tab"),
    (r"podbay list", "see the workspaces pane"),
    (r"podbay ssh-config install", "press i"),
    (rf"podbay provider add(?: {_ARG})?", "press p to add a provider"),
    (rf"podbay provider (?:set|edit)(?: {_ARG})*", "press e to edit the provider"),
]
_PATTERNS = [(re.compile(_LEAD + pattern), words) for pattern, words in _KEYS]
_ANY_RUN = re.compile(r"\brun:? (?=`?podbay )")


def for_tui(text: str) -> str:
    """Core's message or hint in the TUI's words: commands it has a key for become the key;
    any other command is named as one for a terminal."""
    for pattern, words in _PATTERNS:
        text = pattern.sub(words, text)
    return _ANY_RUN.sub("in a terminal: ", text)
