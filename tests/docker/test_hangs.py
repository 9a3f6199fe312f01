"""Every external wait has a bound and a message (the reliability probe's H1, H4)."""

from __future__ import annotations

import time

import docker

from tests.conftest import IMAGE, Podbay, write_config


def test_a_shell_rc_that_blocks_does_not_hold_up_forever(podbay: Podbay) -> None:
    write_config(
        podbay.cwd / "probe",
        {
            "image": IMAGE,
            "onCreateCommand": "echo 'sleep 4321' >> ~/.bashrc",
            "postStartCommand": "echo poststart-ran",
        },
    )
    podbay.ok("up", "probe")
    podbay.ok("stop", "probe")
    started = time.monotonic()
    result = podbay("up", "probe", timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    assert "took over 10 s and was stopped" in result.stderr
    assert "poststart-ran" in result.stderr
    assert "probe is running" in result.stdout
    container = docker.from_env().containers.get(podbay.status("probe")["containerId"])
    processes = [" ".join(p) for p in container.top()["Processes"]]
    assert not any("sleep 4321" in p for p in processes), processes
