"""A ScriptedBackend with an inventory file, for the deployment form's tests.

The plan it shows is the engine's own planner (`make_plan`) over scripted observations:
every host is up with four idle GPUs, and each deployment named in `running` has one
ready replica on the first host, carrying the spec hash of the inventory it was started
from. A replica's expected hash is derived from its deployment's whole entry, so an
edit rolls it, as the engine's spec hash would. `apply_inventory` writes the file as
FleetIntents does (core's `write_inventory`, refusing a file changed meanwhile) and
records the call; the real verb is tested over sshd in tests/integration.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import TypeAdapter

from fleetdeck.core.errors import UsageError
from fleetdeck.core.intents import IntentOutcome
from fleetdeck.core.inventory import Deployment, Inventory, load_inventory
from fleetdeck.core.inventory.editing import write_inventory
from fleetdeck.core.policy.plan import Plan, make_plan
from fleetdeck.hosts.observations import GpuReading, HostLoad, HostObservation, ReplicaObservation
from tests.tui.scripted_backend import ScriptedBackend

GPU = TypeAdapter(GpuReading)
REPLICA = TypeAdapter(ReplicaObservation)


def spec_hash(deployment: Deployment) -> str:
    return hashlib.sha256(deployment.model_dump_json().encode()).hexdigest()[:12]


def idle_gpu(host: str, index: int) -> GpuReading:
    return GPU.validate_python(
        {"index": index, "uuid": f"GPU-{host}-{index}", "name": "H100",
         "temperature_c": None, "utilization_pct": None, "memory_used_mib": None,
         "memory_total_mib": None, "power_w": None, "power_limit_w": None, "processes": []}
    )  # fmt: skip


def ready_replica(deployment: Deployment, host: str) -> ReplicaObservation:
    return REPLICA.validate_python(
        {"deployment": deployment.name, "replica": f"{host}-0", "port": 8100,
         "bind_host": "127.0.0.1", "spec_hash": spec_hash(deployment),
         "gpu_uuids": [f"GPU-{host}-0"], "pid": 4242, "alive": True, "wrapper_alive": True,
         "healthy": True, "stop_requested": False, "exits": [], "started_at": None,
         "created_at": None, "log_size": 0, "log_tail": []}
    )  # fmt: skip


class FormBackend(ScriptedBackend):
    def __init__(self, path: Path, *, running: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.path = path
        started = load_inventory(path)
        first = started.hosts[0].name
        self.observed = {
            host.name: HostObservation(
                0.0,
                tuple(
                    ready_replica(d, host.name)
                    for d in started.deployments
                    if d.name in running and host.name == first
                ),
                tuple(idle_gpu(host.name, i) for i in range(4)),
                "simulated",
                HostLoad(None, None, None, None),
            )
            for host in started.hosts
        }
        self.plans: list[Plan] = []
        self.saved: list[str] = []

    @property
    def inventory_path(self) -> Path:
        return self.path

    def inventory_text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def plan_for(self, inventory: Inventory) -> Plan:
        hashes = {
            (d.name, h.name): spec_hash(d) for d in inventory.deployments for h in inventory.hosts
        }
        plan = make_plan(inventory, self.observed, hashes)
        self.plans.append(plan)
        return plan

    async def apply_inventory(self, text: str, *, based_on: str) -> IntentOutcome:
        self.calls.append(("apply_inventory", str(self.path), None))
        if self.inventory_text() != based_on:
            raise UsageError(f"{self.path} changed on disk", "", "nothing was written")
        write_inventory(self.path, text)
        self.saved.append(text)
        return IntentOutcome()
