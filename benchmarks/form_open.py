"""How long the deployment form takes to open, and to judge one change, on an inventory
the size of examples/fleet.toml and on one with 50 deployments.

- open: from `E` on the fleet screen until the form is shown with its first check done
  (Textual's pilot, 100x30; includes `pilot.pause()`'s own wait of at least 20 ms);
- check: one `validate()` (read the fields, edit the tomlkit document, run the loader
  over the whole file), what each keystroke costs once the form is open.

Medians and p95 (nearest rank) over N runs. The goals: open under 1 s, a check under
50 ms, so typing stays live. The machine may be shared: numbers are noisy.

    .venv/bin/python benchmarks/form_open.py [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetdeck.core.fleet.snapshot import DeploymentStatus  # noqa: E402
from fleetdeck.tui.app import FleetdeckApp  # noqa: E402
from fleetdeck.tui.screens.deployment_form import DeploymentFormScreen  # noqa: E402
from tests.tui.fleet_data import deployment, fleet, shown, until  # noqa: E402
from tests.tui.form_backend import FormBackend  # noqa: E402
from tests.tui.test_deployment_form import INVENTORY  # noqa: E402

EXTRA = """
[[deployments]]
name = "extra-{i}"
model = "org/model-{i}"   # one of many
replicas = 0
start_timeout = "20m"
[deployments.vllm]
max_model_len = 8192
"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def measure(text: str, runs: int) -> tuple[list[float], list[float]]:
    opens: list[float] = []
    checks: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fleet.toml"
        path.write_text(text)
        for _ in range(runs):
            backend = FormBackend(path)
            snapshot = fleet(deployment("llama", DeploymentStatus.ACTIVE))
            backend.push(snapshot)
            app = FleetdeckApp(backend, title="bench", refresh_s=1.0)
            async with app.run_test(size=(100, 30)) as pilot:
                await shown(pilot, snapshot)
                start = time.perf_counter()
                await pilot.press("E")
                await until(pilot, lambda a=app: isinstance(a.screen, DeploymentFormScreen), 60)
                form = app.screen
                assert isinstance(form, DeploymentFormScreen)
                await until(pilot, lambda f=form: f.check is not None, 60)
                await pilot.pause()
                opens.append(time.perf_counter() - start)
                for _ in range(5):
                    start = time.perf_counter()
                    form.validate()
                    checks.append(time.perf_counter() - start)
    return opens, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    cases = {
        "1 deployment": INVENTORY,
        "51 deployments": INVENTORY + "".join(EXTRA.format(i=i) for i in range(50)),
    }
    print(f"{'inventory':<16} {'open median':>12} {'open p95':>10} {'check median':>13} "
          f"{'check p95':>10}")  # fmt: skip
    for name, text in cases.items():
        opens, checks = asyncio.run(measure(text, args.runs))
        print(
            f"{name:<16} {statistics.median(opens) * 1000:>9.0f} ms {p95(opens) * 1000:>7.0f} ms"
            f" {statistics.median(checks) * 1000:>10.1f} ms {p95(checks) * 1000:>7.1f} ms"
        )


if __name__ == "__main__":
    main()
