"""Plans from an inventory and observations, and the statuses derived from them (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from fleetdeck.core.commands.render import status_table
from fleetdeck.core.fleet.snapshot import DeploymentStatus, HostState, ReplicaStatus
from fleetdeck.core.fleet.snapshot_builder import HostView, build_snapshot
from fleetdeck.core.inventory import Inventory, parse_inventory
from fleetdeck.core.policy.plan import Start, Stop, make_plan
from fleetdeck.core.policy.status import DerivedReplica, deployment_status, replica_status
from fleetdeck.hosts.observations import (
    ExitRecord,
    GpuReading,
    HostLoad,
    HostObservation,
    ReplicaObservation,
)

# Validated as the console validates what hosts send: lists become tuples, and so on.
REPLICA = TypeAdapter(ReplicaObservation)
GPU = TypeAdapter(GpuReading)

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
simulate = { gpus = 2 }
labels = { zone = "eu" }
[[hosts]]
name = "b"
transport = "local"
simulate = { gpus = 2 }
labels = { zone = "us" }
[[deployments]]
name = "llm"
model = "m"
replicas = 2
"""


def inventory(text: str = INVENTORY) -> Inventory:
    return parse_inventory(text, Path("fleet.toml"))


def replica(deployment: str, name: str, **fields: Any) -> ReplicaObservation:
    base: dict[str, Any] = {
        "deployment": deployment,
        "replica": name,
        "port": 8100,
        "bind_host": "127.0.0.1",
        "spec_hash": "h",
        "gpu_uuids": [f"GPU-{name}"],
        "pid": None,
        "alive": True,
        "wrapper_alive": True,
        "healthy": True,
        "stop_requested": False,
        "exits": [],
        "started_at": None,
        "created_at": None,
        "log_size": 0,
        "log_tail": [],
    }
    base.update(fields)
    return REPLICA.validate_python(base)


def gpu_reading(index: int, uuid: str, *processes: dict[str, object]) -> GpuReading:
    """An H100 that reports nothing but its processes."""
    return GPU.validate_python(
        {
            "index": index,
            "uuid": uuid,
            "name": "H100",
            "temperature_c": None,
            "utilization_pct": None,
            "memory_used_mib": None,
            "memory_total_mib": None,
            "power_w": None,
            "power_limit_w": None,
            "processes": list(processes),
        }
    )


def host_obs(name: str, *replicas: ReplicaObservation, gpus: int = 2) -> HostObservation:
    readings = tuple(gpu_reading(i, f"GPU-{name}-{i}") for i in range(gpus))
    return HostObservation(0.0, replicas, readings, "simulated", HostLoad(None, None, None, None))


HASHES = {("llm", "a"): "h", ("llm", "b"): "h"}


def test_empty_fleet_gets_two_starts_spread_over_both_hosts() -> None:
    plan = make_plan(inventory(), {"a": host_obs("a"), "b": host_obs("b")}, HASHES)
    assert plan.actions == (
        Start("llm", "a-0", "a", ("GPU-a-0",), "scale to 2"),
        Start("llm", "b-0", "b", ("GPU-b-0",), "scale to 2"),
    )


def test_second_plan_after_apply_is_empty() -> None:
    observed = {
        "a": host_obs("a", replica("llm", "a-0")),
        "b": host_obs("b", replica("llm", "b-0")),
    }
    plan = make_plan(inventory(), observed, HASHES)
    assert plan.empty
    assert plan.in_sync == ("llm/a-0", "llm/b-0")


def test_scale_down_stops_the_least_useful_replica_first() -> None:
    observed = {
        "a": host_obs("a", replica("llm", "a-0"), replica("llm", "a-1", healthy=False)),
        "b": host_obs("b", replica("llm", "b-0")),
    }
    plan = make_plan(inventory(), observed, HASHES)
    assert plan.actions == (Stop("llm", "a-1", "a", "scale to 2"),)


def test_removed_deployment_is_stopped() -> None:
    observed = {
        "a": host_obs("a", replica("old", "a-0"), replica("llm", "a-1")),
        "b": host_obs("b", replica("llm", "b-0")),
    }
    plan = make_plan(inventory(), observed, HASHES)
    assert plan.actions == (Stop("old", "a-0", "a", "deployment not in the inventory"),)


def test_rolling_update_surges_one_and_stops_old_only_when_new_is_ready() -> None:
    old = {"spec_hash": "old"}
    # Step 1: both replicas have the old spec: start one new one, stop nothing.
    step1 = {
        "a": host_obs("a", replica("llm", "a-0", **old)),
        "b": host_obs("b", replica("llm", "b-0", **old)),
    }
    plan = make_plan(inventory(), step1, HASHES)
    assert [type(a).__name__ for a in plan.actions] == ["Start"]
    assert plan.actions[0].reason == "rolling update"
    # Step 2: the new one is still loading: nothing more happens.
    loading = replica("llm", "a-1", healthy=False, gpu_uuids=["GPU-a-1"])
    step2 = {**step1, "a": host_obs("a", replica("llm", "a-0", **old), loading)}
    assert make_plan(inventory(), step2, HASHES).actions == ()
    # Step 3: it is ready: one old replica goes, and the next new one starts.
    ready = replica("llm", "a-1", gpu_uuids=["GPU-a-1"])
    step3 = {**step1, "a": host_obs("a", replica("llm", "a-0", **old), ready)}
    plan = make_plan(inventory(), step3, HASHES)
    stops = [a for a in plan.actions if isinstance(a, Stop)]
    starts = [a for a in plan.actions if isinstance(a, Start)]
    assert len(stops) == 1 and stops[0].reason == "replaced by a ready replica"
    assert len(starts) == 1 and starts[0].reason == "rolling update"


def test_recreate_stops_every_old_replica_first() -> None:
    text = INVENTORY.replace("replicas = 2", 'replicas = 2\nupdate_strategy = "recreate"')
    observed = {
        "a": host_obs("a", replica("llm", "a-0", spec_hash="old")),
        "b": host_obs("b", replica("llm", "b-0", spec_hash="old")),
    }
    plan = make_plan(inventory(text), observed, HASHES)
    assert {(a.replica, a.reason) for a in plan.actions if isinstance(a, Stop)} == {
        ("a-0", "spec changed"),
        ("b-0", "spec changed"),
    }
    assert sum(isinstance(a, Start) for a in plan.actions) == 2


def test_replica_that_keeps_failing_at_start_is_stopped_and_not_replaced() -> None:
    looping = replica(
        "llm", "a-0", alive=False, healthy=False,
        exits=[ExitRecord(1, 1.0), ExitRecord(1, 2.0), ExitRecord(1, 3.0)],
        start_failures=3, log_tail=["ValueError: ... less than desired GPU memory utilization"],
    )  # fmt: skip
    observed = {"a": host_obs("a", looping), "b": host_obs("b", replica("llm", "b-0"))}
    plan = make_plan(inventory(), observed, HASHES)
    assert plan.actions == (
        Stop(
            "llm", "a-0", "a", "failed at start 3 times in a row: out of memory",
            mark_failed=True,
        ),
    )  # fmt: skip
    assert "failed at start 3 times" in plan.unschedulable[0].reason
    # Once marked failed, it blocks new starts with the same spec and says what to do.
    marked = replica("llm", "a-0", alive=False, healthy=False, stop_requested=True,
                     failed_reason="failed at start 3 times in a row: out of memory")  # fmt: skip
    plan = make_plan(inventory(), {**observed, "a": host_obs("a", marked)}, HASHES)
    assert plan.actions == ()
    assert "fleetdeck restart FILE llm" in plan.unschedulable[0].reason


def test_replica_not_ready_after_start_timeout_is_given_up() -> None:
    text = INVENTORY.replace("replicas = 2", 'replicas = 2\nstart_timeout = "60s"')
    slow = replica("llm", "a-0", healthy=False, started_at=100.0)
    observed = {"a": host_obs("a", slow), "b": host_obs("b", replica("llm", "b-0"))}
    assert make_plan(inventory(text), observed, HASHES, now=150.0).actions == ()
    plan = make_plan(inventory(text), observed, HASHES, now=170.0)
    assert plan.actions[0].reason == "not ready 70s after starting (start_timeout 60s)"


def test_unreachable_host_is_reported_and_not_placed_on() -> None:
    plan = make_plan(inventory(), {"a": host_obs("a"), "b": None}, HASHES)
    assert plan.unreachable_hosts == ("b",)
    assert {a.host for a in plan.actions} == {"a"}


def test_desired_override_and_unschedulable() -> None:
    plan = make_plan(inventory(), {"a": host_obs("a"), "b": host_obs("b")}, HASHES, {"llm": 5})
    assert sum(isinstance(a, Start) for a in plan.actions) == 4
    assert plan.unschedulable[0].reason.startswith("does not fit")


def status(
    obs: ReplicaObservation, *, reachable: bool = True, active_at: float | None = None
) -> Any:
    return replica_status(
        obs, host_reachable=reachable, last_active_at=active_at, now=100.0, idle_window_s=60.0
    )


def test_replica_statuses() -> None:
    healthy = replica("llm", "a-0")
    assert status(healthy, active_at=90.0).status == ReplicaStatus.ACTIVE
    assert status(healthy, active_at=10.0).status == ReplicaStatus.IDLE
    assert status(healthy, reachable=False).status == ReplicaStatus.UNKNOWN
    loading = replica("llm", "a-0", healthy=False, log_tail=["... Starting to load model m..."])
    assert (status(loading).status, status(loading).phase) == (
        ReplicaStatus.STARTING,
        "loading weights",
    )
    crashed = replica(
        "llm", "a-0", alive=False, healthy=False, exits=[ExitRecord(1, 5.0)],
        log_tail=["OSError: [Errno 98] Address already in use"],
    )  # fmt: skip
    derived = status(crashed)
    assert derived.status == ReplicaStatus.FAILED
    assert derived.reason == "port in use; restarting after backoff"
    stopping = replica("llm", "a-0", stop_requested=True)
    assert status(stopping).status == ReplicaStatus.STOPPING
    stopped = replica("llm", "a-0", alive=False, wrapper_alive=False, stop_requested=True)
    assert status(stopped) == DerivedReplica(ReplicaStatus.STOPPED)


GAVE_UP = "failed at start 2 times in a row: crashed (exit 1)"
START = "[fleetdeck] 2026-12-02T14:41:24Z starting: /bin/false --model m"
BACKOFF = "[fleetdeck] 2026-12-02T14:41:25Z vLLM exited with code 1; restarting in 1s"


def given_up(**fields: Any) -> ReplicaObservation:
    base: dict[str, Any] = {
        "alive": False, "wrapper_alive": False, "healthy": False, "stop_requested": True,
        "failed_reason": GAVE_UP,
        "exits": [ExitRecord(1, 5.0, False, 0.0), ExitRecord(1, 7.0, False, 1.0)],
        "log_tail": [START, BACKOFF, START, BACKOFF],
    }  # fmt: skip
    return replica("llm", "a-0", **{**base, **fields})


def test_a_replica_given_up_on_is_failed_with_its_reason_and_excerpt() -> None:
    derived = status(given_up())
    assert derived == DerivedReplica(
        ReplicaStatus.FAILED, reason=GAVE_UP, log_excerpt=("exited at once with code 1, no output",)
    )
    # What it printed before it exited, the supervisor's notes left out.
    said = given_up(log_tail=[START, BACKOFF, START, "loading m", "Error: no such model", BACKOFF])
    assert status(said).log_excerpt == ("loading m", "Error: no such model")
    # A missing binary: what exec said is the excerpt; the code is in last_exit_code.
    cannot = given_up(
        exits=[ExitRecord(127, 5.0, False, 0.0)],
        log_tail=[START, "[fleetdeck] cannot run /opt/vllm: [Errno 2] No such file", BACKOFF],
    )
    assert status(cannot).log_excerpt == (
        "[fleetdeck] cannot run /opt/vllm: [Errno 2] No such file",
    )
    # While its processes are still going away it is stopping, with the reason.
    going = status(given_up(wrapper_alive=True))
    assert (going.status, going.reason) == (ReplicaStatus.STOPPING, GAVE_UP)
    # Unreachable wins: nothing is known about it now.
    assert status(given_up(), reachable=False).status == ReplicaStatus.UNKNOWN


def test_a_crash_looping_replica_is_failed_with_its_last_runs_lines() -> None:
    looping = replica(
        "llm", "a-0", alive=False, healthy=False, exits=[ExitRecord(1, 5.0, False, 0.0)],
        log_tail=[START, "line one", "line two", BACKOFF],
    )  # fmt: skip
    derived = status(looping)
    assert derived.status == ReplicaStatus.FAILED
    assert derived.reason == "crashed (exit 1); restarting after backoff"
    assert derived.log_excerpt == ("line one", "line two")
    # A healthy or starting replica carries no excerpt.
    assert status(replica("llm", "a-0")).log_excerpt == ()


def test_the_snapshot_and_the_status_table_carry_a_given_up_replicas_failure() -> None:
    views = {
        "a": HostView(HostState.UP, host_obs("a", given_up()), None),
        "b": HostView(HostState.UP, host_obs("b"), None),
    }
    snapshot = build_snapshot(inventory(), views, last_active={}, pending=(), desired={}, now=100.0)
    document = json.loads(json.dumps(snapshot.model_dump(mode="json")))
    (llm,) = document["deployments"]
    assert llm["status"] == "failed"
    (shown,) = llm["replicas"]
    assert (shown["status"], shown["reason"], shown["last_exit_code"]) == ("failed", GAVE_UP, 1)
    assert shown["log_excerpt"] == ["exited at once with code 1, no output"]
    text = status_table(snapshot)
    assert f"failed\n  llm/a-0 on a: {GAVE_UP}\n    exited at once with code 1, no output" in text


def test_a_given_up_replica_shows_its_crash_not_the_stop_that_raced_the_give_up() -> None:
    # The give-up stopped a third run that had begun: 143 was our stop, 1 the crash.
    raced = given_up(
        exits=[ExitRecord(1, 5.0, False, 0.0), ExitRecord(1, 7.0, False, 1.0),
               ExitRecord(143, 9.0, True, 0.0)],
    )  # fmt: skip
    views = {
        "a": HostView(HostState.UP, host_obs("a", raced), None),
        "b": HostView(HostState.UP, host_obs("b"), None),
    }
    snapshot = build_snapshot(inventory(), views, last_active={}, pending=(), desired={}, now=100.0)
    (shown,) = snapshot.deployments[0].replicas
    assert (shown.status, shown.last_exit_code, shown.restarts) == (ReplicaStatus.FAILED, 1, 3)
    # A replica merely stopped keeps its last exit as it was.
    stopped = replica("llm", "a-0", alive=False, healthy=False, stop_requested=True,
                      exits=[ExitRecord(143, 9.0, True, 0.0)])  # fmt: skip
    views = {**views, "a": HostView(HostState.UP, host_obs("a", stopped), None)}
    snapshot = build_snapshot(inventory(), views, last_active={}, pending=(), desired={}, now=100.0)
    (shown,) = snapshot.deployments[0].replicas
    assert shown.status != ReplicaStatus.FAILED and shown.last_exit_code == 143


def test_a_deployment_whose_only_replica_was_given_up_on_is_failed() -> None:
    failed = status(given_up()).status
    assert deployment_status(1, [failed]) == DeploymentStatus.FAILED
    assert deployment_status(2, [ReplicaStatus.ACTIVE, failed]) == DeploymentStatus.DEGRADED
    # Another replica serves all that is desired: it serves, the failed one is kept aside.
    assert deployment_status(1, [ReplicaStatus.ACTIVE, failed]) == DeploymentStatus.ACTIVE


def test_deployment_statuses() -> None:
    A, IDLE, S, F = (
        ReplicaStatus.ACTIVE,
        ReplicaStatus.IDLE,
        ReplicaStatus.STARTING,
        ReplicaStatus.FAILED,
    )
    assert deployment_status(2, [A, IDLE]) == DeploymentStatus.ACTIVE
    assert deployment_status(2, [IDLE, IDLE]) == DeploymentStatus.IDLE
    assert deployment_status(2, [A, S]) == DeploymentStatus.LOADING
    assert deployment_status(2, [A, F]) == DeploymentStatus.DEGRADED
    assert deployment_status(1, [F]) == DeploymentStatus.FAILED
    assert deployment_status(2, []) == DeploymentStatus.STOPPED
    assert deployment_status(0, [ReplicaStatus.STOPPED]) == DeploymentStatus.STOPPED
    assert deployment_status(2, [A, ReplicaStatus.UNKNOWN]) == DeploymentStatus.DEGRADED


def test_a_scale_down_is_not_degraded_while_the_surplus_still_serves() -> None:
    A, IDLE, STOPPING = ReplicaStatus.ACTIVE, ReplicaStatus.IDLE, ReplicaStatus.STOPPING
    # Scaling 2→1: two ready for one desired; the row says "scaling 2→1", the light active.
    assert deployment_status(1, [A, A]) == DeploymentStatus.ACTIVE
    # Scaling 1→0 before the stop reaches the replica: it still serves, so not degraded.
    assert deployment_status(0, [A]) == DeploymentStatus.ACTIVE
    assert deployment_status(0, [IDLE]) == DeploymentStatus.IDLE
    # Once it is stopping, nothing live is left: stopped.
    assert deployment_status(0, [STOPPING]) == DeploymentStatus.STOPPED
    # A replica that failed while scaling to zero is still reported as failed.
    assert deployment_status(0, [ReplicaStatus.FAILED]) == DeploymentStatus.FAILED


def test_gpus_held_by_a_foreign_tenant_or_a_stopping_replica_are_skipped() -> None:
    def gpu(index: int, *processes: dict[str, object]) -> GpuReading:
        return gpu_reading(index, f"GPU-a-{index}", *processes)

    foreign = {"pid": 4242, "memory_mib": 20000.0}  # someone else's training job
    our_worker = {"pid": 777, "memory_mib": 70000.0, "ours": True, "replica": "llm/a-0"}
    running = replica("llm", "a-0", gpu_uuids=["GPU-a-1"])
    stopping = replica("old", "a-1", gpu_uuids=["GPU-a-2"], stop_requested=True)
    observed = {
        "a": HostObservation(
            0.0,
            (running, stopping),
            (gpu(0, foreign), gpu(1, our_worker), gpu(2), gpu(3)),
            "nvml",
            HostLoad(None, None, None, None),
        ),
        "b": None,
    }
    plan = make_plan(inventory(), observed, HASHES)
    (start,) = [a for a in plan.actions if isinstance(a, Start)]
    # GPU 0: a foreign tenant; 1: our running replica; 2: a replica still stopping.
    assert start.gpu_uuids == ("GPU-a-3",)
