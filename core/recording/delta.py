"""Deltas between two JSON documents (a snapshot's `model_dump(mode="json")`), pure.

A snapshot differs from the one a second before in a few leaves: a metric, a status, a
sparkline that moved one point along. A delta names only those, so a recording stores a
full snapshot now and then (a keyframe) and these in between.

An op is a JSON list, so a delta is itself JSON:
- `["=", value]`: replace with value;
- `["d", {key: op}, [removed keys]]`: patch a dict's keys;
- `["l", length, {index: op}]`: patch a list's items, then cut or extend it to `length`
  (an index at or past the old end is always an `=`);
- `["s", k, tail]`: the list moved k places along: drop its first k items, append
  `tail` (a sparkline after a scrape: one op instead of every point).
"""

from __future__ import annotations

from typing import Any

Op = list[Any]

_MAX_SHIFT = 4  # a sparkline moves one point per scrape; a few catch missed seconds


def diff(old: Any, new: Any) -> Op | None:
    """The op that turns `old` into `new`; None when they are equal."""
    if type(old) is type(new) and old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        changed: dict[str, Op] = {}
        for key, value in new.items():
            if key in old:
                op = diff(old[key], value)
                if op is not None:
                    changed[key] = op
            else:
                changed[key] = ["=", value]
        removed = [key for key in old if key not in new]
        return ["d", changed, removed]
    if isinstance(old, list) and isinstance(new, list):
        return _diff_list(old, new)
    return ["=", new]


def _diff_list(old: list[Any], new: list[Any]) -> Op:
    n = len(new)
    for k in range(1, min(_MAX_SHIFT, len(old)) + 1):
        kept = len(old) - k
        if kept <= n and old[k:] == new[:kept] and kept > 0:
            return ["s", k, new[kept:]]
    items: dict[str, Op] = {}
    for index, value in enumerate(new):
        if index < len(old):
            op = diff(old[index], value)
            if op is not None:
                items[str(index)] = op
        else:
            items[str(index)] = ["=", value]
    return ["l", n, items]


def patch(old: Any, op: Op) -> Any:
    """`old` with `op` applied. Dicts and lists in `old` are changed in place where the
    op patches them (the reader owns its working copy); the result must be used."""
    kind = op[0]
    if kind == "=":
        return op[1]
    if kind == "d":
        if not isinstance(old, dict):
            raise ValueError("a dict patch on something else")
        for key, sub in op[1].items():
            old[key] = patch(old.get(key), sub)
        for key in op[2]:
            old.pop(key, None)
        return old
    if kind == "l":
        if not isinstance(old, list):
            raise ValueError("a list patch on something else")
        length: int = op[1]
        del old[length:]
        old.extend([None] * (length - len(old)))
        for index, sub in op[2].items():
            i = int(index)
            old[i] = patch(old[i], sub)
        return old
    if kind == "s":
        if not isinstance(old, list):
            raise ValueError("a shift on something else")
        del old[: op[1]]
        old.extend(op[2])
        return old
    raise ValueError(f"unknown delta op {kind!r}")
