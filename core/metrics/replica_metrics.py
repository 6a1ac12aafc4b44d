"""One replica's rolling metrics: feed it scraped pages, read a frozen summary."""

from __future__ import annotations

from collections import deque

from fleetdeck.core.fleet.snapshot import MetricsSnapshot
from fleetdeck.core.metrics.histograms import Histogram
from fleetdeck.core.metrics.history import Histories
from fleetdeck.core.metrics.ring import SPARKLINE_POINTS
from fleetdeck.core.metrics.totals import add_step
from fleetdeck.core.metrics.vllm_page import PageValues, read_page
from fleetdeck.core.metrics.window import (
    Step,
    WindowView,
    snapshot_of,
    step_between,
    view_of,
)

DEFAULT_WINDOW_S = 60.0
DEFAULT_RATE_WINDOW_S = 10.0


class ReplicaMetrics:
    """Owned by the engine, fed by one scraper; everything it hands out is immutable.

    Pure: `t` is whatever clock the caller uses (seconds), nothing here reads one.
    """

    def __init__(
        self,
        window_s: float = DEFAULT_WINDOW_S,
        rate_window_s: float = DEFAULT_RATE_WINDOW_S,
        history_points: int = SPARKLINE_POINTS,
    ) -> None:
        self.window_s = window_s
        self.rate_window_s = rate_window_s
        self._last: tuple[float, PageValues] | None = None
        self._steps: deque[Step] = deque()
        self._view: WindowView | None = None
        self._histories = Histories(history_points)
        # Every step's bucket deltas added up: grows for as long as this object lives.
        self._totals: dict[str, Histogram] = {}
        self.bad_lines = 0  # unparseable lines on the latest page

    def add_sample(self, t: float, text: str) -> None:
        """A /metrics page scraped at time `t`."""
        self.add_page(t, read_page(text))

    def add_page(self, t: float, page: PageValues) -> None:
        if self._last is not None:
            last_t, last_page = self._last
            if t <= last_t:
                return  # a late or duplicate sample would make a zero-length step
            step = step_between(last_t, last_page, t, page)
            self._steps.append(step)
            add_step(self._totals, step.histograms)
        while self._steps and self._steps[0].end <= t - self.window_s:
            self._steps.popleft()
        self._last = (t, page)
        self.bad_lines = page.bad_lines
        self._view = view_of(t, page, self._steps, self.window_s, self.rate_window_s)
        self._histories.push(self._view)

    def view(self) -> WindowView | None:
        """The latest window, for `DeploymentMetrics`; None before the first page."""
        return self._view

    def totals(self) -> dict[str, Histogram]:
        """Bucket counts of every request seen since the first scrape, by family."""
        return dict(self._totals)

    def summary(self) -> MetricsSnapshot | None:
        if self._view is None:
            return None
        return snapshot_of(self._view, self._histories.values())
