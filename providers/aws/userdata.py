"""The instance's user-data: a plain shell script from assets/aws/user-data.sh, filled in."""

from __future__ import annotations

import os
import shlex
from importlib import resources

from podbay.core.errors import ProviderError

LOGIN_USER = "podbay"
WORKSPACES = "/var/lib/podbay/workspaces"
LIMIT = 16 * 1024  # AWS refuses larger user-data (moto does not check)


def workspaces_root() -> str:
    """Where workspaces live on the machine. PODBAY_AWS_WORKSPACES moves it: the tests' stand-in
    instance shares the test machine's Docker, whose bind mounts need the same path on both."""
    return os.environ.get("PODBAY_AWS_WORKSPACES") or WORKSPACES


def template() -> str:
    return resources.files("podbay.assets").joinpath("aws/user-data.sh").read_text(encoding="utf-8")


def render(
    *,
    client_public_key: str,
    host_private_key: str,
    idle_minutes: int,
    user: str = LOGIN_USER,
    workspaces: str = WORKSPACES,
) -> str:
    values = {
        "USER": user,
        "CLIENT_KEY": client_public_key.strip(),
        "HOST_KEY": host_private_key.strip(),
        "IDLE_MINUTES": str(int(idle_minutes)),
        "WORKSPACES": workspaces,
    }
    script = template()
    for key, value in values.items():
        script = script.replace(f"@@{key}@@", shlex.quote(value))
    if len(script.encode()) > LIMIT:
        raise ProviderError("the instance's user-data is larger than AWS allows (16 KiB)", "")
    return script
