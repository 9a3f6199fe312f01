"""Your git identity in the workspace: `user.name` and `user.email` of this computer's git
config, copied into the container's global git config once per container, as its remote user,
where the image set none (the image's own stays); and the workspace folder trusted by git when
the remote user does not own it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

from podbay.core.docker import DockerEndpoint
from podbay.core.model import Workspace
from podbay.core.reporter import Reporter

# Values come as arguments, never as shell text; each is set only where none is. One git to
# read what is there, one to write each missing value. The workspace folder ($3) is made a
# safe.directory when the remote user does not own it (a copy on a machine belongs to the
# login there; git would refuse it as "dubious ownership"), as VS Code's Dev Containers does.
_SCRIPT = """
command -v git >/dev/null 2>&1 || { echo "@no-git"; exit 0; }
if [ -n "$3" ] && [ -d "$3" ] && [ "$(stat -c %u "$3" 2>/dev/null)" != "$(id -u)" ] &&
   ! git config --global --get-all safe.directory 2>/dev/null | grep -qxF "$3"; then
  if git config --global --add safe.directory "$3"; then echo "@set safe.directory"; fi
fi
have=$(git config --global --get-regexp '^user\\.(name|email)$' 2>/dev/null)
for pair in "user.name=$1" "user.email=$2"; do
  key=${pair%%=*} value=${pair#*=}
  [ -n "$value" ] || continue
  case "$have" in "$key "*|*"
$key "*) continue ;; esac
  if git config --global "$key" "$value"; then echo "@set $key"; else echo "@failed $key"; fi
done
exit 0
"""


def local_identity() -> tuple[str, str] | None:
    """(name, email) from this computer's git config (global, with its includes); None
    without git or without either. A value with control characters is left out."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        found = subprocess.run(
            [
                git,
                "config",
                "--global",
                "--includes",
                "-z",
                "--get-regexp",
                r"^user\.(name|email)$",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    values = {"user.name": "", "user.email": ""}
    for item in found.stdout.split("\0"):
        key, _, value = item.partition("\n")
        if key in values and value.isprintable():
            values[key] = value  # (the last one wins, as git's --get)
    name, email = values["user.name"], values["user.email"]
    return (name, email) if name or email else None


async def copy_into(
    ws: Workspace,
    docker: DockerEndpoint,
    report: Reporter,
    local: asyncio.Future[tuple[str, str] | None] | None = None,
) -> None:
    """Set the identity (`local`: local_identity, when it was read meanwhile) in the
    container; never fails the `up`: a note says what it did."""
    identity = await (local if local is not None else asyncio.to_thread(local_identity))
    # (on a machine the folder is the login's there, not the session's: trust it even when
    # there is no identity to copy; here an exec only when there is one)
    if ws.container_id is None or (identity is None and not ws.machine):
        return
    container = ws.container_id
    argv = ["/bin/sh", "-c", _SCRIPT, "sh", *(identity or ("", "")), ws.workspace_folder or ""]

    def run() -> tuple[int, list[str]]:
        output, exit_code = docker.exec_stream(container, argv, ws.remote_user, None, ws.remote_env)
        lines = b"".join(output).decode("utf-8", "replace").splitlines()
        return exit_code(), lines

    code, lines = await asyncio.to_thread(run)
    done = [line.removeprefix("@set ") for line in lines if line.startswith("@set ")]
    failed = [line.removeprefix("@failed ") for line in lines if line.startswith("@failed ")]
    if done:
        report.log(f"git: {' and '.join(done)} from this computer's git config")
    if failed or code != 0:
        why = next((x for x in reversed(lines) if not x.startswith("@")), f"exit code {code}")
        report.warn(
            f"git: {' and '.join(failed) or 'the identity'} not set in the container: {why}"
        )
