"""Counter deltas that survive restarts.

A restarted replica starts its counters at zero again. A delta that would be negative,
or any delta across a known restart, is the new value itself: what the new process
counted since it began. Rates are never negative.
"""

from __future__ import annotations

from collections.abc import Mapping


def counter_delta(old: float | None, new: float | None, restarted: bool = False) -> float:
    """How much a counter grew between two readings; 0 when either reading is missing."""
    if old is None or new is None:
        return 0.0
    if restarted or new < old:
        return max(new, 0.0)
    return new - old


def labelled_deltas(
    old: Mapping[str, float], new: Mapping[str, float], restarted: bool = False
) -> dict[str, float]:
    """Per-label deltas of one counter family (e.g. by finished_reason).

    A label that is new on this page counts from zero, so a series that first appears
    with a value is counted whole; a label that disappeared contributes nothing.
    """
    if not old:
        # No earlier reading of the family at all: nothing to subtract from.
        return dict.fromkeys(new, 0.0)
    return {
        label: counter_delta(old.get(label, 0.0), value, restarted) for label, value in new.items()
    }


def rate(delta: float, seconds: float) -> float | None:
    """Per-second rate, or None over an empty interval."""
    return delta / seconds if seconds > 0 else None
