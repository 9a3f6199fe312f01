"""The one place production code reads test knobs (environment variables named PODBAY_TEST_*).

Tests drive the real `podbay` command in a subprocess, so a knob has to travel in the
environment; keeping every reader here makes the whole seam visible in one page:

- PODBAY_TEST_KILL_AT=STEP: `up` kills itself with SIGKILL at that checkpoint (crash tests).
- PODBAY_TEST_AWS_RESOLVER=tests.MODULE:FUNCTION: where SSH of an EC2 instance answers, for the
  tests' stand-in instance (a local container that ran podbay's real user-data). Only modules
  under `tests.` are accepted.
- PODBAY_TEST_MACHINE_AWS="METADATA_URL ENDPOINT_URL": where a VM's secret reader
  (assets/aws/read_secrets.py) finds the instance metadata service and AWS, for a stand-in
  instance beside the tests' own (tests/aws/cloud.py).
- PODBAY_TEST_NO_SSHD_BUNDLE=1: new containers get no portable sshd (core/ssh/bundle.py), so
  the package-manager path is what sets SSH up.
"""

from __future__ import annotations

import importlib
import os
import signal
from collections.abc import Callable
from typing import Any


def checkpoint(step: str) -> None:
    """Kill this process here when PODBAY_TEST_KILL_AT names this step."""
    if os.environ.get("PODBAY_TEST_KILL_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def aws_resolver() -> Callable[..., tuple[str, int]] | None:
    """The tests' replacement for an instance's SSH address, when one is set."""
    hook = os.environ.get("PODBAY_TEST_AWS_RESOLVER")
    if not hook:
        return None
    module, _, function = hook.partition(":")
    if not module.startswith("tests."):
        raise ValueError(f"PODBAY_TEST_AWS_RESOLVER must name a module under tests.: {hook}")
    found: Any = getattr(importlib.import_module(module), function)
    return found  # type: ignore[no-any-return]


def no_sshd_bundle() -> bool:
    return os.environ.get("PODBAY_TEST_NO_SSHD_BUNDLE") == "1"


def machine_aws() -> list[str]:
    """The VM secret reader's options for the tests' metadata service and AWS; [] for EC2's."""
    urls = os.environ.get("PODBAY_TEST_MACHINE_AWS", "").split()
    return ["--imds", urls[0], "--endpoint", urls[1]] if len(urls) == 2 else []
