"""How soon the console's snapshot shows a replica's change: /health turning 200 (goal:
active within 0.5 s) and `kill -9` of vLLM (goal: failed/restarting within 2 s).

One real sshd host on loopback (tests/harness) runs one simulated replica
(`--sim-load-seconds`, restart backoff 1 s). In this process an Engine streams the
snapshots the console renders (`Engine.snapshots(1.0)`, the console's refresh period)
while a thread polls the replica's /health every 5 ms, so the moment it turns 200 is
known to within 5 ms. Each cycle: wait until a snapshot shows the replica ready (the
"ready" sample: that snapshot's arrival minus the first 200), then SIGKILL its vLLM
(the "kill" sample: the first snapshot that no longer shows it ready, and shows it
failed or restarting); the supervisor restarts it and the next cycle begins. The first
ready is not counted: the replica was ready before the engine connected.

Both ways in one run: "before" is the engine with `detect_changes = False` (a host
observation every watch interval, a snapshot every interval: what shipped), "after"
with it on (the host checks every 0.1 s for a replica turning ready or dying and
observes at once; the snapshot stream wakes on that observation).

    .venv/bin/python benchmarks/detection.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetdeck.core.engine.engine import Engine  # noqa: E402
from fleetdeck.core.fleet.snapshot import READY, FleetSnapshot, ReplicaStatus  # noqa: E402
from fleetdeck.core.inventory import load_inventory  # noqa: E402
from tests.harness.inventory_writer import write_inventory  # noqa: E402
from tests.harness.sshd import start_sshd_fleet  # noqa: E402

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
REFRESH_S = 1.0  # the console's snapshot period (tui/app.py refresh_s)
GOALS = {"ready": 0.5, "kill": 2.0}
DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
restart_backoff = "1s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "1.0"]
"""


class HealthClock:
    """Polls /health every 5 ms; remembers when it last turned from not-200 to 200."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/health"
        self.turned_ok_at: float | None = None
        self._ok = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=0.5) as answer:
                    ok = answer.status == 200
            except OSError:
                ok = False
            if ok and not self._ok:
                self.turned_ok_at = time.monotonic()
            self._ok = ok
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def replica_of(snapshot: FleetSnapshot) -> tuple[ReplicaStatus, int | None] | None:
    deployment = snapshot.deployment("chat")
    if deployment is None or not deployment.replicas:
        return None
    replica = deployment.replicas[0]
    return replica.status, replica.pid


async def measure(inventory: Path, port: int, runs: int, detect: bool) -> dict[str, list[float]]:
    engine = Engine(load_inventory(inventory))
    engine.detect_changes = detect
    clock = HealthClock(port)
    samples: dict[str, list[float]] = {"ready": [], "kill": []}
    stream = engine.snapshots(REFRESH_S)
    try:
        # The replica is ready already: each cycle kills it, then waits for the restart.
        pid = None
        while pid is None:
            seen = replica_of(await anext(stream))
            if seen and seen[0] in READY:
                pid = seen[1]
        for _ in range(runs):
            clock.turned_ok_at = None  # the restart's /health turns 200 after this
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            while True:
                seen = replica_of(await anext(stream))
                if seen and seen[0] in (ReplicaStatus.FAILED, ReplicaStatus.STARTING):
                    samples["kill"].append(time.monotonic() - killed_at)
                    break
            # Ready: the first snapshot showing it ready, against when /health turned 200.
            while True:
                seen = replica_of(await anext(stream))
                if seen and seen[0] in READY and clock.turned_ok_at is not None:
                    samples["ready"].append(time.monotonic() - clock.turned_ok_at)
                    pid = seen[1]
                    break
    finally:
        await stream.aclose()
        clock.stop()
        await engine.close()
    return samples


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def apply(inventory: Path) -> int:
    """Start the replica and wait for it; its port."""
    applied = subprocess.run(
        [FLEETDECK, "apply", str(inventory), "--wait", "--timeout", "120"],
        capture_output=True, text=True,
    )  # fmt: skip
    if applied.returncode != 0:
        raise SystemExit(f"apply failed: {applied.stderr}")
    shown = subprocess.run(
        [FLEETDECK, "status", str(inventory), "--json"], capture_output=True, text=True
    )
    return int(json.loads(shown.stdout)["deployments"][0]["replicas"][0]["port"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        fleet = start_sshd_fleet(1, Path(workdir) / "fleet")
        inventory = write_inventory(
            fleet, Path(workdir) / "fleet.toml", deployments_toml=DEPLOYMENT
        )
        os.environ["XDG_STATE_HOME"] = str(Path(workdir) / "xdg")
        try:
            results = {}
            for label, detect in (("before", False), ("after", True)):
                # A fresh supervisor each time: its restart backoff starts again at 1 s.
                port = apply(inventory)
                results[label] = asyncio.run(measure(inventory, port, args.runs, detect))
                subprocess.run([FLEETDECK, "down", str(inventory)], capture_output=True)
        finally:
            subprocess.run([FLEETDECK, "down", str(inventory)], capture_output=True)
            fleet.close()
    header = f"{'scenario':<40} {'runs':>4} {'median':>8} {'p90':>8} {'goal':>6}  met? (p90)"
    print(header)
    print("-" * len(header))
    names = {"ready": "/health 200 -> snapshot ready", "kill": "kill -9 -> snapshot failed"}
    for label in ("before", "after"):
        for scenario in ("ready", "kill"):
            values = results[label][scenario]
            median = statistics.median(values)
            goal = GOALS[scenario]
            print(
                f"{names[scenario] + ' (' + label + ')':<40} {len(values):>4} "
                f"{median:>7.3f}s {p90(values):>7.3f}s {goal:>5.1f}s  "
                f"{'yes' if p90(values) < goal else 'no'}"
            )


if __name__ == "__main__":
    main()
