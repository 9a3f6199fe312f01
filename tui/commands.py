"""The command palette (ctrl+p): every action of the registry, plus "go to workspace"."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from podbay.tui.actions import ACTIONS, key_label

if TYPE_CHECKING:
    from podbay.tui.app import PodbayApp


class ActionCommands(Provider):
    def _entries(self) -> list[tuple[str, str, str]]:
        app: PodbayApp = self.app  # type: ignore[assignment]
        entries = [(f"{a.description}", f"key {key_label(a)}", f"action:{a.id}") for a in ACTIONS]
        for name in app.workspace_names():
            entries.append((f"Go to workspace {name}", "select it", f"goto:{name}"))
        return entries

    async def _run(self, target: str) -> None:
        app: PodbayApp = self.app  # type: ignore[assignment]
        kind, _, value = target.partition(":")
        if kind == "action":
            await app.run_action(value)
        else:
            app.select_workspace(value)

    async def discover(self) -> Hits:
        for title, help_text, target in self._entries():
            yield DiscoveryHit(title, partial(self._run, target), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, target in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, target), help=help_text
                )
