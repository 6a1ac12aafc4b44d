"""The layer contracts of DESIGN.md run through import-linter: they exist, the tree keeps
them, and they catch a breach (core importing the UI, even lazily inside a function)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).parents[2]
LINT_IMPORTS = ROOT / ".venv-lint" / "bin" / "lint-imports"
CONTRACT_IDS = {"layers", "root-on-top", "themes-beside-tui", "engine-without-ui"}


def importlinter_config() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(tree: Path, config: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail("import-linter is missing: run `scripts/install --test` (it makes .venv-lint)")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_are_declared() -> None:
    config = importlinter_config()
    assert config["root_package"] == "fleetdeck"
    contracts = {c["id"]: c for c in config["contracts"]}
    assert set(contracts) == CONTRACT_IDS
    assert contracts["layers"]["layers"] == ["tui", "core", "hosts"]
    assert {"textual", "rich"} <= set(contracts["engine-without-ui"]["forbidden_modules"])


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("core/engine.py", "def later():\n    from fleetdeck.tui import app\n", "Layers"),
        ("hosts/ssh.py", "import fleetdeck.core.engine\n", "Layers"),
        ("core/engine.py", "import textual\n", "never load a UI library"),
        ("tui/app.py", "from fleetdeck import console\n", "composition root"),
        ("themes/palette.py", "import fleetdeck.core.engine\n", "Themes"),
    ],
)
def test_a_breach_breaks_the_build(tmp_path: Path, module: str, source: str, contract: str) -> None:
    tree = tmp_path / "tree"
    package = tree / "fleetdeck"
    for name in ("", "core/", "hosts/", "tui/", "themes/"):
        write(package / name / "__init__.py")
    for name in ("main.py", "console.py", "registry.py", "completion.py", "__main__.py"):
        write(package / name)
    write(package / "core" / "engine.py")
    write(package / "tui" / "app.py", "import fleetdeck.core.engine\n")
    write(package / "themes" / "palette.py")
    write(package / "hosts" / "ssh.py")
    write(package / module, source)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    result = lint_imports(tree, tree / "pyproject.toml")
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout + result.stderr
