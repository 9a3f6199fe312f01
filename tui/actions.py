"""One registry of actions: it feeds the key bindings, the footer, the `?` help and the palette.

The four can never disagree because they are all generated from ACTIONS.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    id: str  # the app's action_<id> method
    key: str
    description: str
    needs_workspace: bool = False  # only with a workspace selected
    dangerous: bool = False  # asks for confirmation
    show: bool = True  # in the footer (all are in help and the palette)
    key_display: str | None = None
    note: str = ""  # in help: what else the key does where it is pressed
    # Handled by the app before the focused widget sees the key: focus moves before the keys
    # typed after it are handed out (B16: `tab tab nm` in one burst).
    priority: bool = False


ACTIONS: tuple[Action, ...] = (
    # First: the footer is cut at the right on a narrow terminal, and these two must show.
    Action("help", "question_mark", "Help", key_display="?"),
    Action("quit", "q", "Quit"),
    Action("new_workspace", "n", "New workspace"),
    Action("up", "u", "Up/start", needs_workspace=True),
    Action("stop", "s", "Stop", needs_workspace=True),
    Action("rebuild", "r", "Rebuild", needs_workspace=True, dangerous=True),
    Action(
        "delete",
        "d",
        "Delete",
        needs_workspace=True,
        dangerous=True,
        note="in Ports: stops the forward; in Providers: removes the provider",
    ),
    Action("shell", "enter", "Shell", needs_workspace=True, key_display="⏎"),
    Action("open_code", "o", "Open IDE", needs_workspace=True),
    Action("choose_ide", "I", "Choose the workspace's IDE", needs_workspace=True, show=False),
    Action("forward", "f", "Forward port", needs_workspace=True),
    Action("open_browser", "w", "Open the forward in a browser (Ports)", show=False),
    Action("cancel_operation", "c", "Cancel operation", needs_workspace=True, show=False),
    Action("focus_logs", "l", "Logs: podbay's log of the workspace", show=False),
    Action("container_output", "L", "Logs: the container's output", show=False),
    Action("follow_log", "F", "Logs: follow the newest lines, or pause", show=False),
    Action("wrap_log", "W", "Logs: wrap long lines, or not", show=False),
    Action("zoom_log", "z", "Logs: full screen, or back", show=False),
    Action("install_ssh_config", "i", "Let ssh reach NAME.podbay (~/.ssh/config)", show=False),
    Action("filter", "slash", "Filter", key_display="/", note="in the log: searches it"),
    Action("add_provider", "p", "Add provider", show=False),
    Action("edit_provider", "e", "Edit provider", show=False),
    Action("use_provider", "m", "Make the provider the default", show=False),
    Action("refresh", "ctrl+r", "Refresh now", show=False),
    Action(
        "history", "exclamation_mark", "Notifications of this session", show=False, key_display="!"
    ),
    Action("sort", "S", "Sort workspaces: name, status, last used", show=False),
    Action("focus_next", "tab", "Next pane or field", show=False, priority=True),
    Action(
        "focus_previous",
        "shift+tab",
        "Previous pane or field",
        show=False,
        priority=True,
        key_display="shift+tab",
    ),
    Action("focus_providers", "1", "Go to the providers", show=False),
    Action("focus_workspaces", "2", "Go to the workspaces", show=False),
    Action("focus_details", "3", "Go to Details, Logs and Ports", show=False),
    Action("previous_tab", "left_square_bracket", "Previous tab", show=False, key_display="["),
    Action("next_tab", "right_square_bracket", "Next tab", show=False, key_display="]"),
    Action("cursor_down", "j", "Down a row", show=False),
    Action("cursor_up", "k", "Up a row", show=False),
    Action("cursor_first", "g", "First row", show=False),
    Action("cursor_last", "G", "Last row", show=False),
)

BY_ID = {action.id: action for action in ACTIONS}


def bindings() -> list[Binding]:
    return [
        Binding(
            a.key,
            a.id,
            a.description,
            show=a.show,
            key_display=a.key_display,
            id=a.id,
            priority=a.priority,
        )
        for a in ACTIONS
    ]


def key_label(action: Action) -> str:
    return action.key_display or action.key
