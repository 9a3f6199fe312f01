"""core/ must stay usable without Textual or cloud SDKs; providers must not pull in Textual."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import core.engine, core.store, core.docker, core.source, core.templates
import core.devcontainer.plan, core.devcontainer.config
import providers, providers.docker_local
loaded = sorted(m for m in ("textual", "boto3", "botocore", "tui") if m in sys.modules)
print(",".join(loaded))
"""


def test_core_and_providers_import_neither_textual_nor_boto3() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_exec_path_imports_no_heavy_modules() -> None:
    # `podbay exec` runs once per command; it must not pay for pydantic, the docker SDK or Textual.
    code = (
        "import sys, tui.cli\n"
        "print(','.join(m for m in ('pydantic', 'docker', 'textual') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
