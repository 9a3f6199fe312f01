from __future__ import annotations

import subprocess

from core.ssh import bootstrap


def test_setup_script_is_valid_shell_with_its_inputs_intact() -> None:
    script = bootstrap._SETUP
    assert "@CONFIG@" not in script and "@DIR@" not in script
    for var in ("HOST_KEY", "AUTHORIZED_KEYS", "CONFIG", "CONFIG_MIN"):
        assert f'"$PODBAY_SSH_{var}"' in script
    subprocess.run(["sh", "-n", "-c", script], check=True)  # parses


def test_sshd_config_passes_the_environment_safely() -> None:
    text = bootstrap.sshd_config({"PATH": "/usr/bin:/opt/x", "Q": 'a"b', "HOME": "/root"})
    assert 'SetEnv "PATH=/usr/bin:/opt/x"' in text
    assert "Q=" not in text and "HOME=" not in text  # unquotable / per-user values stay out
    assert "SetEnv" not in bootstrap.sshd_config({"PATH": "/x"}, with_setenv=False)
    assert "PasswordAuthentication no" in text and "UsePAM no" in text
