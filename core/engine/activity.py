"""When each replica last served a request, from its finished-request counter."""

from __future__ import annotations


class ActivityTracker:
    """Owned by the engine; a counter that moved (rose, or reset) means a request was served.

    The first reading only sets the baseline: a console that starts late must not call a
    replica active for requests it served before anyone was watching.
    """

    def __init__(self) -> None:
        self._last_total: dict[str, float] = {}
        self._last_active: dict[str, float] = {}

    def update(self, replica_id: str, requests_total: float | None, now: float) -> float | None:
        if requests_total is not None:
            previous = self._last_total.get(replica_id)
            if previous is not None and requests_total != previous:
                self._last_active[replica_id] = now
            self._last_total[replica_id] = requests_total
        return self._last_active.get(replica_id)

    def last_active(self) -> dict[str, float]:
        return dict(self._last_active)
