from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from podbay.core.ssh import bootstrap
from podbay.core.ssh.sshd import DIR


def test_setup_script_is_valid_shell_with_its_inputs_intact() -> None:
    script = bootstrap._SETUP
    assert "@" + "CONFIG@" not in script and "@DIR@" not in script and "@PATCH" not in script
    for var in ("HOST_KEY", "AUTHORIZED_KEYS", "CONFIG_MIN"):
        assert f"=$PODBAY_SSH_{var}\n" in script
    subprocess.run(["sh", "-n", "-c", script], check=True)  # parses


def test_sshd_config_passes_the_environment_safely() -> None:
    line = bootstrap.setenv_line({"PATH": "/usr/bin:/opt/x", "Q": 'a"b', "HOME": "/root"})
    assert line == 'SetEnv "PATH=/usr/bin:/opt/x"'  # unquotable / per-user values stay out
    assert bootstrap.setenv_line({"HOME": "/root"}) == ""
    text = bootstrap.sshd_config()
    assert "SetEnv" not in text
    assert "PasswordAuthentication no" in text and "UsePAM no" in text


SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)


@pytest.mark.skipif(
    SSHD is None and not os.environ.get("PODBAY_REQUIRE_DOCKER"),
    reason="needs OpenSSH's sshd (make test installs it)",
)
@given(
    st.dictionaries(
        st.text(alphabet=st.sampled_from(list('ABZ_az09 =\n"')), min_size=1, max_size=6),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_characters="\0"),
            max_size=12,
        ),
        max_size=4,
    )
)
@example({"A": "\x85", "B": "x\u2028y"})  # Unicode line breaks inside a value
@settings(max_examples=40, deadline=None)
def test_sshd_reads_back_exactly_the_environment_podbay_means(env: dict[str, str]) -> None:
    # sshd itself is the oracle: whatever a config or image puts in containerEnv, the file adds
    # no directive and passes exactly the variables it can hold.
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "host_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        text = bootstrap.sshd_config().replace(f"{DIR}/host_key", str(key))
        text += bootstrap.setenv_line(env) + "\n"
        config = Path(folder) / "sshd_config"
        config.write_text(text)
        Path("/run/sshd").mkdir(exist_ok=True)
        done = subprocess.run(
            [SSHD or "sshd", "-T", "-f", str(config)], capture_output=True, text=True, check=False
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")  # not splitlines: values may hold \x85 or \u2028
    got = [line.removeprefix("setenv ") for line in lines if line.startswith("setenv ")]
    kept = [
        f"{k}={v}"
        for k, v in sorted(env.items())
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)
        and k not in ("HOME", "HOSTNAME", "USER", "SHELL", "TERM")
        and '"' not in v
        and "\\" not in v
        and not any(ord(c) < 32 or ord(c) == 127 for c in v)
    ]
    assert sorted(got) == sorted(kept)
    assert "passwordauthentication no" in lines
    assert (
        "permitrootlogin without-password" in lines or "permitrootlogin prohibit-password" in lines
    )
