"""A host that drops, over real sshd: the controller waits `replace_unreachable_after`
before it replaces the host's replica elsewhere, and when the host comes back the
surplus is stopped, so the fleet never keeps more replicas than desired.

Keepalive 1 s x 2 and a 2 s connect timeout find the outage in seconds; the grace is
3 s. Without it the controller started a replacement about a second after the drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.core.control.controller import Controller
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import (
    READY,
    DeploymentStatus,
    FleetSnapshot,
    HostState,
    ReplicaStatus,
)
from fleetdeck.core.inventory import load_inventory
from tests.harness.fleetdeck_cli import fleetdeck
from tests.harness.inventory_writer import write_inventory
from tests.harness.process_tree import alive
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

GRACE_S = 3.0
SSH_SETTINGS = 'keepalive_interval = "1s"\nkeepalive_count = 2\nconnect_timeout = "2s"\n'
DEPLOYMENT = f"""
[[deployments]]
name = "chat"
model = "sim/chat-model"
replicas = 1
replace_unreachable_after = "{GRACE_S:g}s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3"]
"""


def write_fleet(fleet: SshdFleet, path: Path) -> Path:
    write_inventory(fleet, path, deployments_toml=DEPLOYMENT)
    text = path.read_text().replace("[defaults]\n", "[defaults]\n" + SSH_SETTINGS, 1)
    path.write_text(text)
    return path


class Running:
    """A Controller in this process, its events collected."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.events: list[Event] = []
        engine.subscribe(self.events.append)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(Controller(engine, interval_s=0.3).run(self.stop))

    async def until(
        self, check: Callable[[FleetSnapshot], bool], timeout: float, what: str
    ) -> FleetSnapshot:
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.engine.snapshot()
            if check(snapshot):
                return snapshot
            assert not self.task.done(), "the controller ended"
            assert time.monotonic() < deadline, f"no {what} in {timeout}s: {snapshot}"
            await asyncio.sleep(0.05)

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 20)
        await self.engine.close()


def replicas(snapshot: FleetSnapshot) -> list[Any]:
    return [r for d in snapshot.deployments for r in d.replicas]


def ready_on(snapshot: FleetSnapshot) -> list[str]:
    return sorted(r.host for r in replicas(snapshot) if r.status in READY)


async def test_dropped_host_is_replaced_only_after_the_grace_and_no_duplicate_stays(
    sshd_fleet_factory: Callable[[int], SshdFleet], tmp_path: Path
) -> None:
    fleet = sshd_fleet_factory(2)
    path = write_fleet(fleet, tmp_path / "fleet.toml")
    inventory = load_inventory(path)
    running = Running(Engine(inventory))
    try:
        first = await running.until(lambda s: len(ready_on(s)) == 1, 30, "ready replica")
        (replica,) = replicas(first)
        dropped, other = replica.host, next(h.name for h in fleet.hosts if h.name != replica.host)
        leader = replica.pid
        assert leader is not None

        fleet.stop_host(dropped)
        await running.until(
            lambda s: any(h.name == dropped and h.state == HostState.UNREACHABLE for h in s.hosts),
            10,
            "unreachable host",
        )
        (lost,) = running.kinds("host.unreachable")
        # Within the grace: the lost replica counts (unknown, the deployment degraded),
        # the wait is said once, and nothing starts on the other host.
        held = await running.until(
            lambda s: bool(running.kinds("replica.unreachable")), GRACE_S, "hold event"
        )
        (deployment,) = held.deployments
        assert [r.status for r in deployment.replicas] == [ReplicaStatus.UNKNOWN]
        assert deployment.status == DeploymentStatus.DEGRADED
        (waiting,) = running.kinds("replica.unreachable")
        assert waiting.subject == replica.id
        assert f"for {dropped} to come back before replacing {replica.id}" in waiting.message
        await asyncio.sleep(max(0.0, lost.time + GRACE_S - 0.5 - time.time()))
        assert len(running.kinds("replica.started")) == 1, "no replacement within the grace"
        assert len(running.kinds("replica.unreachable")) == 1, "said once, not every tick"

        # After the grace: a replacement on the other host, saying why.
        replaced = await running.until(
            lambda s: ready_on(s) == [other], 20, "replacement ready on the other host"
        )
        started = running.kinds("replica.started")[-1]
        assert started.time - lost.time >= GRACE_S
        assert f"on {other}" in started.message
        assert f"{dropped} unreachable for" in started.message
        assert f"replacing {replica.id}" in started.message
        assert alive(leader), "the old replica lives on while its host's sshd is down"
        assert sum(r.status == ReplicaStatus.UNKNOWN for r in replicas(replaced)) == 1

        # The host comes back: one of the two is stopped, and one replica is left.
        fleet.start_host(dropped)
        settled = await running.until(
            lambda s: (
                all(h.state == HostState.UP for h in s.hosts)
                and len(replicas(s)) == 1
                and len(ready_on(s)) == 1
            ),
            40,
            "the surplus stopped",
        )
        stops = running.kinds("replica.stopped")
        assert len(stops) == 1 and "scale to 1" in stops[0].message
        await asyncio.sleep(1.0)  # and it stays that way
        assert len(replicas(running.engine.snapshot())) == 1, settled
    finally:
        await running.close()
        for host in fleet.hosts:
            if not fleet.is_running(host.name):
                fleet.start_host(host.name)
        down = fleetdeck("down", str(path))
        assert down.returncode == 0, down.stdout + down.stderr
