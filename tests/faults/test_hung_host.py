"""A hung host over real sshd, with the inventory's default SSH settings: host-1's sshd
(the listener and the processes serving its connections) is SIGSTOPped while a
controller runs in this process and serves the deployment's endpoint.

Within 30 s the host is unreachable and its replica out of the endpoint's rotation;
meanwhile every request through the endpoint is answered (by host-2's replica once
host-1's stops answering) within a few seconds; a verb from the console's side and a
one-shot `fleetdeck scale --no-wait` both finish promptly, the latter with exit 3 (a
host unreachable); after SIGCONT the host comes back. Times are printed (`pytest -s`).
Before the fix (keepalive 15 s x 3 and nothing else) the host was still up after 40 s
and a request waited on it until the keepalive gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fleetdeck.core.control.controller import Controller
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.snapshot import READY, FleetSnapshot, HostState
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory
from tests.faults import invariants
from tests.harness.fleetdeck_cli import FLEETDECK, fleetdeck
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

HUNG = "host-1"
DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat-model"
replicas = 2
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""
BODY = {"model": "sim/chat-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
OUT_WITHIN_S = 30.0  # the bound: unreachable, and out of the rotation
REQUEST_WITHIN_S = 10.0  # observed: at most ~6 s, for the one sent just as it hung
ONE_SHOT_WITHIN_S = 20.0  # connect_timeout (10 s) plus a slow machine's start-up


def ready_hosts(snapshot: FleetSnapshot) -> list[str]:
    return sorted(r.host for d in snapshot.deployments for r in d.replicas if r.status in READY)


def host_state(snapshot: FleetSnapshot, name: str) -> HostState:
    return next(h.state for h in snapshot.hosts if h.name == name)


async def until(
    engine: Engine, check: Callable[[FleetSnapshot], bool], timeout: float, what: str
) -> float:
    """Seconds until `check` held on the engine's snapshot."""
    started = time.monotonic()
    while not check(snapshot := engine.snapshot()):
        assert time.monotonic() - started < timeout, f"no {what} in {timeout}s: {snapshot}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class Requests:
    """Chat completions through the endpoint, one after another, each timed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[float, float, int | str]] = []  # sent at, took, status
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    answer = await client.post(f"{self.url}/chat/completions", json=BODY)
                    status: int | str = answer.status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                self.results.append((sent, time.monotonic() - sent, status))
                await asyncio.sleep(0.2)

    async def close(self) -> list[tuple[float, float, int | str]]:
        self.stop.set()
        await self.task
        return self.results


async def test_a_hung_host_leaves_the_rotation_within_seconds_and_comes_back(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path
) -> None:
    fleet = sshd_fleet_factory(2)
    path = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    engine = Engine(load_inventory(path))
    stop = asyncio.Event()
    controller = asyncio.create_task(Controller(engine, interval_s=1.0).run(stop))
    requests: Requests | None = None
    try:
        await until(engine, lambda s: ready_hosts(s) == ["host-1", "host-2"], 30, "2 ready")
        await until(engine, lambda s: s.deployments[0].endpoint is not None, 5, "endpoint")
        url = engine.snapshot().deployments[0].endpoint
        assert url is not None
        async with httpx.AsyncClient(timeout=10) as client:  # the endpoint has upstreams
            for _ in range(100):
                answer = await client.post(f"{url}/chat/completions", json=BODY)
                if answer.status_code == 200:
                    break
                await asyncio.sleep(0.1)
        requests = Requests(url)
        await asyncio.sleep(1.0)

        fleet.pause_host(HUNG)
        paused = time.monotonic()
        # The console's path: a verb while the hang is not found yet.
        outcome = await FleetIntents(engine, who="the test").scale("chat", 2)
        verb_s = time.monotonic() - paused
        assert outcome.ok
        detected = await until(
            engine,
            lambda s: host_state(s, HUNG) == HostState.UNREACHABLE,
            OUT_WITHIN_S,
            "unreachable",
        )
        await until(engine, lambda s: ready_hosts(s) == ["host-2"], 2, "out of rotation")
        out_s = time.monotonic() - paused
        assert out_s <= OUT_WITHIN_S
        await asyncio.sleep(1.0)  # requests after it left the rotation too

        began = time.monotonic()
        scale = await asyncio.to_thread(
            subprocess.run,
            [FLEETDECK, "scale", str(path), "chat", "2", "--no-wait"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        scale_s = time.monotonic() - began
        results = await requests.close()
        requests = None
        hung_s = time.monotonic() - paused

        fleet.resume_host(HUNG)
        back = await until(engine, lambda s: host_state(s, HUNG) == HostState.UP, 30, "host up")
        await until(engine, lambda s: ready_hosts(s) == ["host-1", "host-2"], 10, "2 ready again")
        # The hung host's replica lived through it: one group each, one run, whole logs.
        dirs = [h.state_dir for h in fleet.hosts]
        invariants.check_all(path, *dirs)
        assert len(invariants.replica_groups(*dirs)) == 2
        assert all(len(invariants.log_runs(d)) == 1 for d in invariants.replica_dirs(*dirs))

        during = [(sent - paused, took, status) for sent, took, status in results]
        during = [row for row in during if row[0] > -1.0]
        slowest = max(took for _, took, _ in during)
        print(
            f"\nhung sshd: the verb took {verb_s:.1f}s; unreachable after {verb_s + detected:.1f}s,"
            f" out of rotation after {out_s:.1f}s; {len(during)} requests in {hung_s:.0f}s of"
            f" hang, slowest {slowest:.1f}s; `scale --no-wait` took {scale_s:.1f}s"
            f" (exit {scale.returncode}); up {back:.1f}s after SIGCONT"
        )
        assert {status for _, _, status in during} == {200}, during
        assert slowest <= REQUEST_WITHIN_S, [row for row in during if row[1] > 1]
        assert verb_s <= REQUEST_WITHIN_S
        assert scale.returncode == 3, scale.stdout + scale.stderr
        assert f"{HUNG}" in scale.stdout and "unreachable" in scale.stdout, scale.stdout
        assert scale_s <= ONE_SHOT_WITHIN_S
    finally:
        if requests is not None:
            await requests.close()
        fleet.resume_host(HUNG)
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(controller, 20)
        await engine.close()
        down = fleetdeck("down", str(path))
        assert down.returncode == 0, down.stdout + down.stderr
        invariants.assert_nothing_left(*(h.state_dir for h in fleet.hosts))
