"""One endpoint's automatic canary: windows from the proxy's counters, the decision from
policy/canary.py, and the weights it gives the route.

The endpoint's first backend is the baseline, the second the canary (the inventory
allows exactly two with `canary`). The canary starts at `step` percent; each window
counts the requests each arm finished since the current weight began. A `fleetdeck
route` override wins: while one is set the canary is paused (its weights are not used
and nothing is decided), and it goes on from a fresh window when the override is lifted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from fleetdeck.core.endpoint.arm_stats import ArmMark
from fleetdeck.core.endpoint.routing import Route
from fleetdeck.core.policy.canary import (
    ArmWindow,
    CanaryAction,
    CanaryConfig,
    CanaryDecision,
    CanaryState,
    analyse,
    start_canary,
)

if TYPE_CHECKING:
    from fleetdeck.core.endpoint.proxy import EndpointProxy

Emit = Callable[[str, str, str, str], None]

_EVENTS = {
    CanaryAction.STEP: ("endpoint.canary-step", "info"),
    CanaryAction.PROMOTE: ("endpoint.canary-promoted", "info"),
    CanaryAction.ROLL_BACK: ("endpoint.canary-rolled-back", "warning"),
}


@dataclass(frozen=True)
class CanaryView:
    baseline: str
    canary: str
    phase: str  # progressing, promoted, rolled_back, or paused (a route override)
    weight: int
    reason: str


class CanaryRun:
    def __init__(
        self, endpoint: str, config: CanaryConfig, baseline: str, canary: str, now: float
    ) -> None:
        self.endpoint = endpoint
        self.config = config
        self.baseline = baseline
        self.canary = canary
        self.state: CanaryState = start_canary(config, now)
        self.reason = f"canary started at {self.state.weight}%"
        self.paused_by: str | None = None
        self._marks: dict[str, ArmMark] | None = None  # taken once the proxy has the weights

    def matches(self, config: CanaryConfig, baseline: str, canary: str) -> bool:
        return (config, baseline, canary) == (self.config, self.baseline, self.canary)

    def route(self, route: Route) -> Route:
        """`route` with the canary's weights (baseline 100 - w, canary w)."""
        weights = {self.baseline: 100.0 - self.state.weight, self.canary: float(self.state.weight)}
        backends = tuple(replace(b, weight=weights.get(b.deployment, 0.0)) for b in route.backends)
        return replace(route, backends=backends)

    def tick(self, proxy: EndpointProxy, now: float, emit: Emit, routed_to: str | None) -> None:
        """Analyse the windows so far; a changed weight starts new windows."""
        if routed_to is not None:
            self.paused_by = routed_to
            self._marks = None
            return
        if self.paused_by is not None or self._marks is None:
            # First tick with the canary's weights in the proxy (or back from an override):
            # the windows start now.
            self.paused_by = None
            self.state = replace(self.state, weight_since=now)
            self._mark(proxy)
            return
        decision = analyse(
            self.state,
            self.config,
            self._window(proxy, self.baseline),
            self._window(proxy, self.canary),
            now,
        )
        self._take(decision, proxy, emit)

    def _take(self, decision: CanaryDecision, proxy: EndpointProxy, emit: Emit) -> None:
        self.state = decision.state
        if decision.action is CanaryAction.HOLD:
            if self.state.weight not in (0, 100):
                self.reason = decision.reason
            return
        self.reason = decision.reason
        self._mark(proxy)
        kind, level = _EVENTS[decision.action]
        emit(kind, self.endpoint, decision.reason, level)

    def _mark(self, proxy: EndpointProxy) -> None:
        self._marks = {name: proxy.arm_mark(name) for name in (self.baseline, self.canary)}

    def _window(self, proxy: EndpointProxy, deployment: str) -> ArmWindow:
        assert self._marks is not None
        requests, errors, p95 = proxy.arm_since(deployment, self._marks[deployment])
        return ArmWindow(requests=requests, errors=errors, p95_ms=p95)

    def view(self) -> CanaryView:
        if self.paused_by is not None:
            phase = "paused"
            reason = f"paused: `fleetdeck route` sends all traffic to {self.paused_by}"
        else:
            phase, reason = self.state.phase.value, self.reason
        return CanaryView(self.baseline, self.canary, phase, self.state.weight, reason)
