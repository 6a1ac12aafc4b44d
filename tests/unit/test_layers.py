"""The layer rules of DESIGN.md: core never loads the UI; hosts loads neither core nor the UI.

Each layer is imported whole, every module of it, in a fresh interpreter, and the test
looks at which top-level packages ended up in sys.modules.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(package.__path__, sys.argv[1] + "."):
    if info.name.endswith("__main__"):
        continue
    importlib.import_module(info.name)
def layer(name):
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "fleetdeck" and len(parts) > 1 else parts[0]
print(json.dumps(sorted({layer(name) for name in sys.modules})))
"""


def loaded_by(package: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, package], capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("fleetdeck.core", {"textual", "rich", "fleetdeck.tui"}),
        ("fleetdeck.hosts", {"textual", "rich", "fleetdeck.tui", "fleetdeck.core"}),
        ("fleetdeck.themes", {"fleetdeck.core", "fleetdeck.hosts", "fleetdeck.tui"}),
    ],
)
def test_layer_does_not_load(package: str, forbidden: set[str]) -> None:
    assert loaded_by(package) & forbidden == set()


def test_the_probe_sees_what_a_layer_loads() -> None:
    # Guards the test itself: tui does load textual and core.
    assert {"textual", "fleetdeck.core"} <= loaded_by("fleetdeck.tui")


def test_host_program_imports_only_the_standard_library() -> None:
    """hosts/remote runs on hosts that have nothing but python3 (3.8+)."""
    remote = Path(__file__).parents[2] / "hosts" / "remote"
    third_party = {}
    for module in remote.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                # pynvml is optional on the host: imported inside try/except ImportError.
                if top not in sys.stdlib_module_names and top != "pynvml":
                    third_party[module.name] = name
    assert third_party == {}
