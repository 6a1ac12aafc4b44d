"""Another distribution's top-level `core`, `hosts`, `tui` or `themes` beside fleetdeck
breaks nothing: fleetdeck only imports its own namespace (fleetdeck.core, ...).

A tiny wheel with such packages (`import core` raises; tui.app has no FleetdeckApp) is
installed with `pip install --target` and put first on PYTHONPATH, ahead of the venv's
site-packages, and the real `fleetdeck` still runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")

FOREIGN_FILES = {
    "pyproject.toml": """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "someone-elses-core"
version = "1.0"

[tool.setuptools]
packages = ["core", "hosts", "tui", "themes"]
""",
    "core/__init__.py": 'raise ImportError("someone else\'s core was imported")\n',
    "hosts/__init__.py": 'raise ImportError("someone else\'s hosts was imported")\n',
    "tui/__init__.py": "",
    "tui/app.py": "NOT_FLEETDECK = True\n",
    "themes/__init__.py": "JUNK = 1\n",
}


@pytest.fixture(scope="module")
def foreign_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("foreign")
    project = tmp / "project"
    for name, text in FOREIGN_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    pip = [sys.executable, "-m", "pip"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "-w", str(tmp / "dist"), str(project)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("*.whl")
    site = tmp / "site"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--quiet", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert {"core", "hosts", "tui", "themes"} <= {p.name for p in site.iterdir()}
    return site


def run_beside(site: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def test_the_foreign_packages_are_what_python_finds(foreign_site: Path, tmp_path: Path) -> None:
    check = (
        "import tui.app, themes\n"
        "assert not hasattr(tui.app, 'FleetdeckApp') and themes.JUNK == 1\n"
        "try:\n"
        "    import core\n"
        "except ImportError as exc:\n"
        "    assert 'someone else' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('core imported')\n"
    )
    result = run_beside(foreign_site, sys.executable, "-c", check, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        [FLEETDECK, "--version"],
        [sys.executable, "-m", "fleetdeck", "--version"],
        [FLEETDECK, "schema"],
        [sys.executable, "-c",
         "from fleetdeck.tui.app import FleetdeckApp; import fleetdeck.core.engine.engine; "
         "import fleetdeck.hosts.transport, fleetdeck.themes, fleetdeck.main, fleetdeck.console"],
    ],
    ids=["fleetdeck-version", "python-m-version", "schema", "imports"],
)  # fmt: skip
def test_fleetdeck_runs_beside_them(foreign_site: Path, tmp_path: Path, argv: list[str]) -> None:
    result = run_beside(foreign_site, *argv, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if argv[-1] == "--version":
        assert result.stdout.startswith("fleetdeck ")
    if argv[-1] == "schema":
        assert '"$schema"' in result.stdout
