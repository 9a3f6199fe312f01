"""Open an IDE on a workspace: VS Code over Remote-SSH (the `NAME.podbay` host)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from podbay.core.attach import AttachRecord, exec_argv


def vscode_urls(name: str, folder: str) -> tuple[str, str]:
    """(folder URI for `code --folder-uri`, vscode:// URL for a browser or the OS)."""
    host = f"{name}.podbay"
    return (
        f"vscode-remote://ssh-remote+{host}{folder}",
        f"vscode://vscode-remote/ssh-remote+{host}{folder}",
    )


def open_vscode(record: AttachRecord) -> dict[str, Any]:
    """Open VS Code on the workspace folder, or return the URL to open when there is no `code`."""
    folder = record.get("workspace_folder") or "/"
    uri, url = vscode_urls(record["name"], folder)
    code = shutil.which("code")
    if code is None:
        return {"opened": False, "url": url, "folderUri": uri}
    extensions = list(record.get("vscode_extensions") or [])
    if extensions:
        from podbay.core import scripts

        install = scripts.command("vscode-extensions.sh")
        argv = exec_argv(record, ["/bin/sh", "-c", install, "sh", *extensions], False)
        argv.insert(argv.index("exec") + 1, "-d")
        subprocess.run(argv, check=False, capture_output=True)
    subprocess.run([code, "--folder-uri", uri], check=False, capture_output=True)
    return {"opened": True, "folderUri": uri, "extensions": extensions}
