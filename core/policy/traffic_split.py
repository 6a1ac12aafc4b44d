"""Which backend (arm) of an endpoint gets a request, and whether it is shadowed: pure.

- No sticky key: smooth weighted round robin (nginx's): over any run of requests each arm
  gets its weight's share to within one request, in an interleaved order, with no
  randomness to make a 90/10 split land at 88/12.
- A sticky key (a session id, a user): weighted rendezvous hashing. The same key always
  gets the same arm while the weights stay; changing one arm's weight moves only the
  keys that must move, and the share of keys per arm follows the weights.
- Shadowing a fraction of requests: error diffusion, so 0.2 shadows exactly every fifth.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

Weights = Sequence[tuple[str, float]]  # (arm name, weight >= 0), in the inventory's order


def next_arm(weights: Weights, credit: Mapping[str, float]) -> tuple[str | None, dict[str, float]]:
    """The next arm round robin by weight, and the credits to pass to the next call.

    `credit` is what the previous call returned ({} at first); arms of weight 0 are never
    chosen. None when no arm has a weight.
    """
    live = [(name, weight) for name, weight in weights if weight > 0]
    if not live:
        return None, {}
    total = sum(weight for _, weight in live)
    updated = {name: credit.get(name, 0.0) + weight for name, weight in live}
    chosen = max(live, key=lambda arm: updated[arm[0]])[0]  # ties: the first listed
    updated[chosen] -= total
    return chosen, updated


def sticky_arm(weights: Weights, key: str) -> str | None:
    """The arm `key` belongs to while the weights stay (weighted rendezvous hashing)."""
    best: tuple[float, str] | None = None
    for name, weight in weights:
        if weight <= 0:
            continue
        digest = hashlib.blake2b(f"{name}\0{key}".encode(), digest_size=8).digest()
        unit = (int.from_bytes(digest, "big") + 0.5) / 2**64  # in (0, 1)
        score = -math.log(unit) / weight  # the smallest wins; P(arm) = weight / total
        if best is None or score < best[0]:
            best = (score, name)
    return best[1] if best is not None else None


def shadow_due(fraction: float, owed: float) -> tuple[bool, float]:
    """Whether this request is shadowed, and what is owed for the next call (0.0 at first)."""
    owed += fraction
    if owed >= 1.0 - 1e-9:
        return True, owed - 1.0
    return False, owed
