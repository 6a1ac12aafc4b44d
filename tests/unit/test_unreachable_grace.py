"""A host that drops keeps its replicas counted for `replace_unreachable_after`: no second
copy on more GPUs while a connection blips; after the grace they are replaced elsewhere,
and when the host comes back the surplus is stopped (pure plans, then the engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetdeck.core.commands.render import plan_json, plan_text
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import InventoryError
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import DeploymentStatus, ReplicaStatus
from fleetdeck.core.inventory import parse_inventory
from fleetdeck.core.policy.plan import Plan, Start, Stop, Unreachable, make_plan
from fleetdeck.hosts.errors import HostUnreachable
from fleetdeck.hosts.observations import HostObservation, ReplicaObservation
from tests.unit.test_plan_and_status import host_obs, inventory, replica

THREE_HOSTS = """
[fleet]
name = "t"
[[hosts]]
name = "gpu-a"
transport = "local"
simulate = { gpus = 2 }
[[hosts]]
name = "gpu-b"
transport = "local"
simulate = { gpus = 2 }
[[hosts]]
name = "gpu-c"
transport = "local"
simulate = { gpus = 2 }
[[deployments]]
name = "llm"
model = "m"
replicas = 3
"""
HASHES = {("llm", h): "h" for h in ("gpu-a", "gpu-b", "gpu-c")}
DROPPED_AT = 1000.0


def running() -> dict[str, HostObservation]:
    """One replica per host, as last observed: the fleet at its desired 3."""
    return {h: host_obs(h, replica("llm", f"{h}-0")) for h in ("gpu-a", "gpu-b", "gpu-c")}


def dropped(
    now: float,
    text: str = THREE_HOSTS,
    desired: dict[str, int] | None = None,
    last: tuple[ReplicaObservation, ...] | None = None,
) -> Plan:
    """The plan at `now` with gpu-b unreachable since DROPPED_AT (`last`: what it ran)."""
    observed: dict[str, HostObservation | None] = dict(running())
    seen = observed["gpu-b"]
    assert seen is not None
    observed["gpu-b"] = None
    down = {"gpu-b": Unreachable(DROPPED_AT, seen.replicas if last is None else last)}
    return make_plan(inventory(text), observed, HASHES, desired, now, down)


def test_default_grace_is_three_minutes_and_zero_is_allowed() -> None:
    assert inventory(THREE_HOSTS).deployments[0].replace_unreachable_after == 180.0
    text = THREE_HOSTS.replace("replicas = 3", 'replicas = 3\nreplace_unreachable_after = "0s"')
    assert inventory(text).deployments[0].replace_unreachable_after == 0.0


def test_grace_longer_than_a_day_is_refused() -> None:
    text = THREE_HOSTS.replace("replicas = 3", 'replicas = 3\nreplace_unreachable_after = "2d"')
    with pytest.raises(InventoryError, match="replace_unreachable_after.*at most 1d"):
        parse_inventory(text, Path("fleet.toml"))


def test_within_the_grace_the_lost_replica_counts_and_nothing_starts() -> None:
    plan = dropped(now=DROPPED_AT + 60)
    assert plan.actions == ()
    assert plan.unschedulable == ()
    assert plan.unreachable_hosts == ("gpu-b",)
    (hold,) = plan.holds
    assert (hold.deployment, hold.replica, hold.host) == ("llm", "llm/gpu-b-0", "gpu-b")
    assert hold.wait_s == 120.0
    assert hold.reason == "waiting 120s for gpu-b to come back before replacing llm/gpu-b-0"


def test_the_plan_as_printed_and_as_json_says_what_it_waits_for() -> None:
    plan = dropped(now=DROPPED_AT + 60)
    text = plan_text("t", plan)
    assert "? gpu-b is unreachable" in text
    assert "~ waiting 120s for gpu-b to come back before replacing llm/gpu-b-0" in text
    assert plan_json(plan)["holds"] == [
        {
            "deployment": "llm",
            "replica": "llm/gpu-b-0",
            "host": "gpu-b",
            "reason": "waiting 120s for gpu-b to come back before replacing llm/gpu-b-0",
        }
    ]


def test_after_the_grace_a_replacement_is_placed_elsewhere_and_says_why() -> None:
    plan = dropped(now=DROPPED_AT + 180)
    (start,) = plan.actions
    assert isinstance(start, Start)
    assert start.host in ("gpu-a", "gpu-c")
    assert start.reason == "gpu-b unreachable for 3m: replacing llm/gpu-b-0"
    assert plan.holds == ()


def test_grace_zero_replaces_at_once() -> None:
    text = THREE_HOSTS.replace("replicas = 3", 'replicas = 3\nreplace_unreachable_after = "0s"')
    plan = dropped(now=DROPPED_AT, text=text)
    assert [type(a) for a in plan.actions] == [Start]
    assert plan.actions[0].reason == "gpu-b unreachable for 0s: replacing llm/gpu-b-0"


def test_a_hold_only_where_a_start_is_held_back() -> None:
    # Scaled to 2 while gpu-b is away: the two reachable replicas are enough, nothing waits.
    plan = dropped(now=DROPPED_AT + 10, desired={"llm": 2})
    assert plan.actions == () and plan.holds == ()
    # ... and the lost replica is no reason to stop a reachable one beyond the count.
    plan = dropped(now=DROPPED_AT + 10, desired={"llm": 1})
    assert [type(a) for a in plan.actions] == [Stop]


def test_a_replica_stopped_or_failed_before_the_drop_is_not_waited_for() -> None:
    for gone in (
        replica("llm", "gpu-b-0", stop_requested=True),
        replica("llm", "gpu-b-0", failed_reason="gave up"),
        replica("llm", "gpu-b-0", alive=False, wrapper_alive=False),
    ):
        plan = dropped(now=DROPPED_AT + 10, last=(gone,))
        assert [type(a) for a in plan.actions] == [Start], gone
        assert plan.holds == ()


def test_host_back_after_a_replacement_leaves_no_duplicate() -> None:
    plan = dropped(now=DROPPED_AT + 200)
    (start,) = plan.actions
    assert isinstance(start, Start)
    observed: dict[str, HostObservation | None] = dict(running())
    host = running()[start.host]
    # The replacement is up but still loading; the old replica on gpu-b is back and ready.
    new = replica("llm", start.replica, healthy=False, gpu_uuids=list(start.gpu_uuids))
    observed[start.host] = host_obs(start.host, *host.replicas, new)
    back = make_plan(inventory(THREE_HOSTS), observed, HASHES, now=DROPPED_AT + 210)
    assert back.actions == (Stop("llm", start.replica, start.host, "scale to 3"),)
    # Once both are ready, the scale-down policy's pick (the newest) goes: still one stop.
    ready = replica("llm", start.replica, gpu_uuids=list(start.gpu_uuids), created_at=5.0)
    observed[start.host] = host_obs(start.host, *host.replicas, ready)
    back = make_plan(inventory(THREE_HOSTS), observed, HASHES, now=DROPPED_AT + 300)
    assert [(type(a), a.reason) for a in back.actions] == [(Stop, "scale to 3")]
    assert len(back.in_sync) == 3


# -- the engine: since when, what it last ran, one event per hold -------------------------


class Clock:
    def __init__(self) -> None:
        self.now = DROPPED_AT

    def __call__(self) -> float:
        return self.now


def engine_with_three(tmp_path: Path, clock: Clock) -> Engine:
    text = THREE_HOSTS.replace("replicas = 3", 'replicas = 3\nreplace_unreachable_after = "30s"')
    engine = Engine(parse_inventory(text, tmp_path / "fleet.toml"), state_dir=tmp_path, clock=clock)
    hashes = engine.expected_hashes()
    for name, session in engine.sessions.items():
        observation = host_obs(name, replica("llm", f"{name}-0", spec_hash=hashes[("llm", name)]))
        session.record(observation)
        engine.track(name, observation)
    return engine


def test_engine_holds_then_replaces_and_reports_the_wait_once(tmp_path: Path) -> None:
    clock = Clock()
    engine = engine_with_three(tmp_path, clock)
    events: list[Event] = []
    engine.subscribe(events.append)
    assert engine.plan().actions == ()
    engine.lost(engine.sessions["gpu-b"], HostUnreachable("gpu-b dropped", "test", "wait"))
    snapshot = engine.snapshot()
    (deployment,) = snapshot.deployments
    statuses = {r.id: r.status for r in deployment.replicas}
    assert statuses["llm/gpu-b-0"] == ReplicaStatus.UNKNOWN
    assert deployment.status == DeploymentStatus.DEGRADED
    for step in (1.0, 5.0, 10.0):  # a controller's ticks: one event, not one per tick
        clock.now = DROPPED_AT + step
        plan = engine.plan()
        assert plan.actions == () and len(plan.holds) == 1
        engine.report_holds(plan)
    waits = [e for e in events if e.kind == "replica.unreachable"]
    assert [(e.subject, e.message) for e in waits] == [
        ("llm/gpu-b-0", "waiting 29s for gpu-b to come back before replacing llm/gpu-b-0")
    ]
    clock.now = DROPPED_AT + 30
    (start,) = engine.plan().actions
    assert isinstance(start, Start) and start.host != "gpu-b"
    assert start.reason == "gpu-b unreachable for 30s: replacing llm/gpu-b-0"


def test_engine_forgets_the_drop_when_the_host_answers_again(tmp_path: Path) -> None:
    clock = Clock()
    engine = engine_with_three(tmp_path, clock)
    session = engine.sessions["gpu-b"]
    last = session.observation
    assert last is not None
    engine.lost(session, HostUnreachable("gpu-b dropped", "test", "wait"))
    clock.now = DROPPED_AT + 20
    session.record(last)
    engine.track("gpu-b", last)
    clock.now = DROPPED_AT + 25
    engine.lost(session, HostUnreachable("gpu-b dropped again", "test", "wait"))
    clock.now = DROPPED_AT + 40  # 40 s since the first drop, 15 s since this one
    plan = engine.plan()
    assert plan.actions == ()
    assert plan.holds[0].wait_s == 15.0
