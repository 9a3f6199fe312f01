"""The portable sshd's key (core/ssh/bundle.py): computed in Python for this computer, it is
exactly what assets/sshd-bundle.sh prints (the script serves other machines)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from podbay.core import scripts
from podbay.core.ssh import bundle


@pytest.mark.skipif(
    not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd"))
    and not os.environ.get("PODBAY_REQUIRE_DOCKER"),
    reason="needs OpenSSH's sshd (make test installs it)",
)
def test_the_key_is_the_scripts() -> None:
    script = scripts.command("sshd-bundle.sh")
    done = subprocess.run(
        ["sh", "-c", script, "sh", "key"], capture_output=True, text=True, check=False
    )
    expected = tuple(done.stdout.split()) if done.returncode == 0 else None
    assert bundle.local_key() == expected


def test_no_key_without_ldd(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "ldd" else real(name))
    assert bundle.local_key() is None
