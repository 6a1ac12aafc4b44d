"""The endpoint's canary run: windows from arm counters, weights, events (no I/O)."""

from __future__ import annotations

from fleetdeck.core.endpoint.arm_stats import ArmMark, ArmStats
from fleetdeck.core.endpoint.canary_run import CanaryRun
from fleetdeck.core.endpoint.routing import Backend, Route
from fleetdeck.core.policy.canary import CanaryConfig
from fleetdeck.hosts.sim_vllm.options import parse_serve_args
from fleetdeck.hosts.sim_vllm.server import ServerContext

CONFIG = CanaryConfig(step=25, interval_s=2, max_error_rate=0.05, max_p95_ratio=2.0)
ROUTE = Route((Backend("base", 90), Backend("cand", 10)))


class Counters:
    """The two methods of EndpointProxy a canary reads, over real ArmStats."""

    def __init__(self) -> None:
        self.arms = {"base": ArmStats("base"), "cand": ArmStats("cand")}

    def arm_mark(self, deployment: str) -> ArmMark:
        return self.arms[deployment].mark()

    def arm_since(self, deployment: str, mark: ArmMark) -> tuple[int, int, float | None]:
        return self.arms[deployment].since(mark)

    def serve(self, deployment: str, count: int, *, failed: int = 0, ms: float = 10) -> None:
        for index in range(count):
            stats = self.arms[deployment]
            stats.started()
            stats.finished(ok=index >= failed, latency_s=ms / 1000, ttft_s=None, tokens=None)


def _run() -> tuple[CanaryRun, Counters, list[tuple[str, str, str, str]]]:
    run = CanaryRun("ep", CONFIG, "base", "cand", now=0.0)
    counters = Counters()
    run.tick(counters, 0.0, lambda *e: None, None)  # type: ignore[arg-type]
    return run, counters, []


def test_windows_count_only_requests_since_the_weight_began() -> None:
    stats = ArmStats("a")
    for latency in (1.0, 1.0, 0.01):
        stats.started()
        stats.finished(ok=False, latency_s=latency, ttft_s=None, tokens=None)
    mark = stats.mark()
    stats.started()
    stats.finished(ok=True, latency_s=0.002, ttft_s=None, tokens=None)
    assert stats.since(mark) == (1, 0, 2.0)


def test_route_gets_the_canarys_weights_first_backend_baseline() -> None:
    run, _, _ = _run()
    weights = {b.deployment: b.weight for b in run.route(ROUTE).backends}
    assert weights == {"base": 75.0, "cand": 25.0}


def test_failing_canary_rolls_back_with_the_numbers_in_a_warning() -> None:
    run, counters, events = _run()
    counters.serve("base", 30)
    counters.serve("cand", 30, failed=15)
    run.tick(counters, 1.0, lambda *e: events.append(e), None)  # type: ignore[arg-type]
    assert [(kind, level) for kind, _, _, level in events] == [
        ("endpoint.canary-rolled-back", "warning")
    ]
    assert "50.0% (15/30)" in events[0][2]
    view = run.view()
    assert (view.phase, view.weight) == ("rolled_back", 0)
    assert {b.deployment: b.weight for b in run.route(ROUTE).backends} == {
        "base": 100.0,
        "cand": 0.0,
    }


def test_healthy_canary_steps_and_the_next_window_starts_empty() -> None:
    run, counters, events = _run()
    counters.serve("base", 30)
    counters.serve("cand", 30)
    run.tick(counters, 2.5, lambda *e: events.append(e), None)  # type: ignore[arg-type]
    assert [kind for kind, *_ in events] == ["endpoint.canary-step"]
    assert run.view().weight == 50
    run.tick(counters, 5.0, lambda *e: events.append(e), None)  # type: ignore[arg-type]
    assert len(events) == 1  # the new window has no requests yet: held
    assert "0/20" in run.view().reason


def test_a_route_override_pauses_the_canary() -> None:
    run, counters, events = _run()
    counters.serve("cand", 30, failed=30)
    run.tick(counters, 1.0, lambda *e: events.append(e), "base")  # type: ignore[arg-type]
    assert events == [] and run.view().phase == "paused"
    # Back from the override: a fresh window, the failures before it no longer count.
    run.tick(counters, 2.0, lambda *e: events.append(e), None)  # type: ignore[arg-type]
    run.tick(counters, 3.0, lambda *e: events.append(e), None)  # type: ignore[arg-type]
    assert events == [] and run.view().phase == "progressing"


def test_sim_error_rate_fails_an_even_share_of_requests() -> None:
    options = parse_serve_args(["m", "--sim-error-rate", "0.25"])
    assert options.error_rate == 0.25
    context = ServerContext(options=options, engine=None, log=None)  # type: ignore[arg-type]
    assert [context.injected_error() for _ in range(8)].count(True) == 2
