"""Open an IDE on a workspace over SSH (the `NAME.podbay` host): VS Code, VS Code Insiders or
Cursor through their Remote-SSH, a JetBrains IDE through Gateway, or none.

Each workspace may choose its IDE; the others use the default setting (VS Code unless set).
Both are settings in the store (`ide` and `ide:NAME`), apart from the workspace's record, so
choosing never races an `up` that saves the record.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podbay.core.attach import AttachRecord, exec_argv
from podbay.core.errors import PodbayError

if TYPE_CHECKING:
    from podbay.core.store import Store

DEFAULT_KEY = "ide"


@dataclass(frozen=True)
class Ide:
    id: str
    title: str
    command: str | None  # its CLI, which opens a remote folder (--folder-uri)
    scheme: str | None  # the URL scheme of its Remote-SSH links

    def urls(self, record: AttachRecord) -> tuple[str | None, str]:
        """(folder URI for `COMMAND --folder-uri`, the URL for a browser or the OS)."""
        host = f"{record['name']}.podbay"
        folder = record.get("workspace_folder") or "/"  # from a config: quoted in the URLs
        if self.id == "jetbrains":
            query = urllib.parse.urlencode(
                {
                    "type": "ssh",
                    "deploy": "false",
                    "host": host,
                    "port": "22",
                    "user": record.get("remote_user") or "root",
                    "projectPath": folder,
                }
            )
            return None, f"jetbrains-gateway://connect#{query}"
        path = urllib.parse.quote(folder, safe="/")
        return (
            f"vscode-remote://ssh-remote+{host}{path}",
            f"{self.scheme}://vscode-remote/ssh-remote+{host}{path}",
        )


IDES: dict[str, Ide] = {
    ide.id: ide
    for ide in (
        Ide("vscode", "VS Code", "code", "vscode"),
        Ide("insiders", "VS Code Insiders", "code-insiders", "vscode-insiders"),
        Ide("cursor", "Cursor", "cursor", "cursor"),
        Ide("jetbrains", "JetBrains Gateway", None, None),
        Ide("none", "none", None, None),
    )
}


def check(ide: str) -> str:
    if ide not in IDES:
        raise PodbayError(f"unknown IDE {ide!r}", f"choose one of: {', '.join(IDES)}")
    return ide


def default(store: Store) -> str:
    return store.get_meta(DEFAULT_KEY) or "vscode"


def chosen(store: Store, name: str) -> str:
    """The workspace's IDE: its own choice, else the default."""
    return store.get_meta(f"{DEFAULT_KEY}:{name}") or default(store)


def all_chosen(store: Store) -> dict[str, str]:
    """Each workspace's own choice (workspaces without one use the default)."""
    return store.meta_with_prefix(f"{DEFAULT_KEY}:")


def choose(store: Store, name: str | None, ide: str | None) -> None:
    """Set a workspace's IDE (None: back to the default), or the default (name None)."""
    key = DEFAULT_KEY if name is None else f"{DEFAULT_KEY}:{name}"
    store.set_meta(key, check(ide) if ide is not None else "")


def open_ide(record: AttachRecord, ide_id: str) -> dict[str, Any]:
    """Open the IDE on the workspace folder; without its command (or a way to open its URL
    here), return the URL to open."""
    ide = IDES[check(ide_id)]
    if ide.id == "none":
        return {"opened": False, "ide": ide.id, "url": None}
    uri, url = ide.urls(record)
    result: dict[str, Any] = {"opened": False, "ide": ide.id, "url": url, "folderUri": uri}
    command = shutil.which(ide.command) if ide.command else None
    if command is None:
        return result  # (an OS handler may know the URL: the front shows it)
    extensions = list(record.get("vscode_extensions") or [])
    if extensions:
        from podbay.core import scripts

        install = scripts.command("vscode-extensions.sh")
        argv = exec_argv(record, ["/bin/sh", "-c", install, "sh", *extensions], False)
        argv.insert(argv.index("exec") + 1, "-d")
        subprocess.run(argv, check=False, capture_output=True)
    subprocess.run([command, "--folder-uri", str(uri)], check=False, capture_output=True)
    return {**result, "opened": True, "extensions": extensions}


def open_vscode(record: AttachRecord) -> dict[str, Any]:
    return open_ide(record, "vscode")
