"""The wheel built from this repository: one top-level name, `fleetdeck`, and every file.

pyproject.toml maps the folders core/ hosts/ tui/ themes/ to fleetdeck.core, ... with
package-dir, and lists the packages by hand. These tests build the wheel (offline, from
a copy of the tree, so no stale build/ leaks in) and check it against the source tree:
a subpackage left out of the list, a data file left out of package-data, a second copy
through the fleetdeck/core -> ../core symlinks, or a top-level `core` all fail here.
Then they install the wheel on its own and import every module from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("core", "hosts", "tui", "themes")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
# What the source tree ships besides .py files (package-data in pyproject.toml).
DATA_PATTERNS = ("*.sh", "*.tcss", "py.typed")
# Only what a build reads: pyproject.toml, README.md and the packages.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests"
)


def _source_files(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]
    for pattern in DATA_PATTERNS:
        files.extend(folder.rglob(pattern))
    return files


def expected_wheel_files() -> set[str]:
    """Every file the wheel must hold, as its path inside the wheel."""
    expected = {
        f"fleetdeck/{p.name}"
        for p in (ROOT / "fleetdeck").iterdir()
        if p.suffix == ".py" and p.is_file() and not p.is_symlink()
    }
    for folder in FOLDERS:
        for path in _source_files(ROOT / folder):
            expected.add(f"fleetdeck/{folder}/{path.relative_to(ROOT / folder).as_posix()}")
    return expected


def packages_in_tree() -> set[str]:
    packages = {"fleetdeck"}
    for folder in FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT).parts
            packages.add(".".join(("fleetdeck", *parts)))
    return packages


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if int(version("setuptools").split(".")[0]) < 77:
        pytest.fail(
            f"setuptools {version('setuptools')} in this venv; the build needs >=77 "
            "(pyproject's license field): run scripts/install --test"
        )
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=COPY_IGNORE)
    out = tmp / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("fleetdeck-*.whl")
    return built


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [info.filename for info in archive.infolist() if not info.is_dir()]


def test_the_source_tree_is_what_these_tests_expect() -> None:
    for folder in FOLDERS:
        link = ROOT / "fleetdeck" / folder
        assert link.is_symlink() and os.readlink(link) == f"../{folder}", link
    expected = expected_wheel_files()
    assert "fleetdeck/hosts/remote/supervise.sh" in expected
    assert "fleetdeck/tui/app.tcss" in expected
    assert {"fleetdeck/core/py.typed", "fleetdeck/hosts/py.typed"} <= expected


def test_pyproject_lists_every_package_and_maps_every_folder() -> None:
    assert set(SETUPTOOLS["packages"]) == packages_in_tree(), (
        "[tool.setuptools] packages must list every folder with an __init__.py"
    )
    assert SETUPTOOLS["package-dir"] == {
        "fleetdeck": "fleetdeck",
        **{f"fleetdeck.{folder}": folder for folder in FOLDERS},
    }


def test_wheel_has_only_the_fleetdeck_top_level_name(wheel: Path) -> None:
    dist_info = f"fleetdeck-{PYPROJECT['project']['version']}.dist-info"
    tops = {name.split("/")[0] for name in wheel_names(wheel)}
    assert tops == {"fleetdeck", dist_info}, "no top-level core/, hosts/, tui/, themes/"
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(f"{dist_info}/top_level.txt").decode().split() == ["fleetdeck"]


def test_wheel_holds_every_source_file_exactly_once(wheel: Path) -> None:
    names = wheel_names(wheel)
    twice = [name for name, count in Counter(names).items() if count > 1]
    assert twice == [], "a file is in the wheel twice (through the symlinks?)"
    files = {name for name in names if not name.split("/")[0].endswith(".dist-info")}
    expected = expected_wheel_files()
    assert sorted(expected - files) == [], "in the source tree but not in the wheel"
    assert sorted(files - expected) == [], "in the wheel but not in the source tree"


def test_wheel_record_lists_each_file_once(wheel: Path) -> None:
    (record,) = [name for name in wheel_names(wheel) if name.endswith(".dist-info/RECORD")]
    with zipfile.ZipFile(wheel) as archive:
        paths = [line.split(",")[0] for line in archive.read(record).decode().splitlines()]
    assert sorted(paths) == sorted(wheel_names(wheel))


def test_the_wheel_alone_imports_every_module_and_runs(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    modules = sorted(
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in wheel_names(wheel)
        if name.endswith(".py") and not name.endswith("__main__.py")
    )
    # PYTHONPATH comes before site-packages, so the venv's editable fleetdeck is not used;
    # run from tmp_path, so the repository is not the current directory on sys.path.
    env = {**os.environ, "PYTHONPATH": str(site)}
    check = (
        "import importlib, sys, fleetdeck\n"
        f"assert fleetdeck.__file__.startswith({str(site)!r}), fleetdeck.__file__\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check, *modules],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "fleetdeck", "schema"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"$schema"' in result.stdout
