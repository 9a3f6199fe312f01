"""IDE links: VS Code's family by Remote-SSH URI, JetBrains by Gateway's link; a folder from a
config is quoted in them."""

from __future__ import annotations

from podbay.core.attach import AttachRecord
from podbay.core.ide import IDES


def test_links_quote_the_folder() -> None:
    record: AttachRecord = {
        "name": "web",
        "workspace_folder": "/workspaces/C#app?x",
        "remote_user": "dev",
    }
    uri, url = IDES["cursor"].urls(record)
    assert uri == "vscode-remote://ssh-remote+web.podbay/workspaces/C%23app%3Fx"
    assert url == "cursor://vscode-remote/ssh-remote+web.podbay/workspaces/C%23app%3Fx"
    none, gateway = IDES["jetbrains"].urls(record)
    assert none is None
    assert gateway == (
        "jetbrains-gateway://connect#type=ssh&deploy=false&host=web.podbay&port=22&user=dev"
        "&projectPath=%2Fworkspaces%2FC%23app%3Fx"
    )
