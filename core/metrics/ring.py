"""Fixed-size history for sparklines: the newest `capacity` points, oldest first."""

from __future__ import annotations

from collections import deque

SPARKLINE_POINTS = 120


class Ring:
    """Owned by one writer (a ReplicaMetrics or DeploymentMetrics); readers get tuples."""

    def __init__(self, capacity: int = SPARKLINE_POINTS) -> None:
        if capacity < 1:
            raise ValueError("a ring needs room for at least one point")
        self._points: deque[float] = deque(maxlen=capacity)

    @property
    def capacity(self) -> int:
        maxlen = self._points.maxlen
        assert maxlen is not None
        return maxlen

    def push(self, value: float) -> None:
        self._points.append(value)

    def values(self) -> tuple[float, ...]:
        return tuple(self._points)

    def __len__(self) -> int:
        return len(self._points)
