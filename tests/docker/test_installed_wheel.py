"""podbay as a user installs it: the wheel, built from this checkout, in a fresh virtual
environment, adds one top-level package (podbay) and works from there: --help, templates, and a
full up / exec / delete against the real Docker engine. Nothing is downloaded: the fresh
environment borrows the dependencies already installed beside the tests."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IMAGE, write_config

ROOT = Path(__file__).resolve().parents[2]


def _purelib(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    found = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return Path(found.stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A fresh venv with only the wheel installed, and the names the wheel added to it."""
    work = tmp_path_factory.mktemp("wheel")
    # From a copy: setuptools builds in the source tree, and a build/ left there by an
    # earlier run could carry files since removed into the wheel.
    source = work / "source"
    skip = shutil.ignore_patterns(
        ".git", ".venv", ".*_cache", "build", "dist", "*.egg-info", "bench", "tests", "docs"
    )
    shutil.copytree(ROOT, source, symlinks=True, ignore=skip)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = (work / "dist").glob("podbay-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = _purelib(python)
    before = {p.name for p in purelib.iterdir()}
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    added = {p.name for p in purelib.iterdir()} - before
    # The dependencies (textual, docker, asyncssh, ...) from the test environment: a path
    # entry, so the checkout's own editable install of podbay is not seen.
    (purelib / "borrowed-dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    return venv, added


def test_the_wheel_installs_one_top_level_package(installed: tuple[Path, set[str]]) -> None:
    venv, added = installed
    python = venv / "bin" / "python"
    purelib = _purelib(python)
    assert {n for n in added if not n.endswith(".dist-info")} == {"podbay"}
    # Every package of the checkout is in the wheel (the list in pyproject.toml is by hand).
    ours = {
        str(init.parent.relative_to(ROOT))
        for top in ("core", "providers", "tui", "assets")
        for init in (ROOT / top).rglob("__init__.py")
    }
    shipped = {
        str(init.parent.relative_to(purelib / "podbay"))
        for init in (purelib / "podbay").rglob("__init__.py")
    } - {"."}
    assert shipped == ours
    where = subprocess.run(
        [str(python), "-c", "import podbay.core.engine as e; print(e.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout
    assert where.startswith(str(purelib))  # the installed copy, not this checkout


def test_the_installed_command_brings_a_workspace_up_runs_in_it_and_deletes_it(
    installed: tuple[Path, set[str]], tmp_path: Path
) -> None:
    env = {**os.environ, "PODBAY_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    podbay = str(installed[0] / "bin" / "podbay")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [podbay, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"podbay {' '.join(args)}: {result.stderr}"
        return result

    assert "Development workspaces" in run("--help").stdout
    assert "python" in run("templates").stdout
    project = tmp_path / "project"
    write_config(project, {"image": IMAGE})
    (project / "hello.txt").write_text("from the host\n")
    run("up", str(project), "--name", "wheel")
    shown = run("exec", "wheel", "--", "cat", "hello.txt").stdout
    assert shown == "from the host\n"
    run("delete", "wheel", "--yes")
    assert "wheel" not in run("list").stdout
    assert (project / "hello.txt").exists()  # the user's folder is never touched
