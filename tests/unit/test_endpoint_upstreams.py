"""The endpoint's upstream pool: round robin, leases, suspension after a failure, drain."""

from __future__ import annotations

import asyncio

from fleetdeck.core.endpoint.upstreams import Lease, Outcome, UpstreamPool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def picks(pool: UpstreamPool, count: int) -> list[str]:
    chosen = []
    for _ in range(count):
        lease = pool.acquire(set())
        assert lease is not None
        chosen.append(lease.replica_id)
        lease.release()
    return chosen


def urls(*ids: str) -> dict[str, str]:
    return {replica_id: f"http://127.0.0.1:{8100 + i}" for i, replica_id in enumerate(ids)}


def test_round_robin_in_mapping_order_and_across_updates() -> None:
    pool = UpstreamPool()
    assert pool.acquire(set()) is None
    pool.update(urls("a", "b", "c"))
    assert picks(pool, 7) == ["a", "b", "c", "a", "b", "c", "a"]
    pool.update(urls("a", "c"))  # b leaves: the rotation goes on from where it was
    assert picks(pool, 3) == ["c", "a", "c"]


def test_a_retry_prefers_upstreams_not_tried_and_not_suspended() -> None:
    clock = Clock()
    pool = UpstreamPool(suspend_s=2.0, clock=clock)
    pool.update(urls("a", "b", "c"))
    first = pool.acquire(set())
    assert first is not None and first.replica_id == "a"
    first.release("refused")
    second = pool.acquire({"a"})
    assert second is not None and second.replica_id == "b"
    second.release()
    # "a" is skipped while suspended, then comes back.
    assert picks(pool, 4) == ["c", "b", "c", "b"]
    clock.now += 2.5
    assert picks(pool, 3) == ["c", "a", "b"]
    # Every one tried: the request may still go again (one replica, stale connection).
    only = UpstreamPool()
    only.update(urls("a"))
    again = only.acquire({"a"})
    assert again is not None and again.replica_id == "a"


def test_one_dropped_connection_does_not_suspend_two_in_a_row_do() -> None:
    clock = Clock()
    pool = UpstreamPool(suspend_s=2.0, clock=clock)
    pool.update(urls("a", "b"))

    def turn(outcome: Outcome) -> str:
        lease = pool.acquire(set())
        assert lease is not None
        lease.release(outcome)
        return lease.replica_id

    # A stale kept-alive connection: "a" keeps its turn.
    assert [turn("dropped"), turn("ok"), turn("ok"), turn("ok")] == ["a", "b", "a", "b"]
    assert [turn("dropped"), turn("ok"), turn("dropped"), turn("ok")] == ["a", "b", "a", "b"]
    assert picks(pool, 2) == ["b", "b"]  # dropped twice in a row: suspended
    assert [u.failures for u in pool.stats()] == [3, 0]


def test_in_flight_counts_and_stats() -> None:
    pool = UpstreamPool()
    pool.update(urls("a", "b"))
    leases = [pool.acquire(set()) for _ in range(3)]
    assert dict(pool.in_flight()) == {"a": 2, "b": 1}
    for lease in leases:
        assert lease is not None
        lease.release()
        lease.release()  # a second release changes nothing
    assert dict(pool.in_flight()) == {"a": 0, "b": 0}
    (a, b) = pool.stats()
    assert (a.replica_id, a.requests, a.in_flight, a.failures) == ("a", 2, 0, 0)
    assert (b.url, b.listed, b.draining) == ("http://127.0.0.1:8101", True, False)


def test_a_replica_left_out_finishes_its_requests_then_is_forgotten() -> None:
    pool = UpstreamPool()
    pool.update(urls("a", "b"))
    lease = pool.acquire(set())
    assert isinstance(lease, Lease) and lease.replica_id == "a"
    pool.update(urls("b"))
    assert picks(pool, 2) == ["b", "b"]
    assert [(u.replica_id, u.listed, u.in_flight) for u in pool.stats()] == [
        ("a", False, 1),
        ("b", True, 0),
    ]
    lease.release()
    assert [u.replica_id for u in pool.stats()] == ["b"]


async def test_drain_waits_for_in_flight_and_stays_drained_while_listed() -> None:
    pool = UpstreamPool()
    pool.update(urls("a", "b"))
    lease = pool.acquire(set())
    assert lease is not None and lease.replica_id == "a"
    drain = asyncio.create_task(pool.drain("a", 5))
    await asyncio.sleep(0)
    pool.update(urls("a", "b"))  # re-sent ready set: "a" stays out of the rotation
    assert picks(pool, 3) == ["b", "b", "b"]
    assert pool.eligible() == 1
    assert not drain.done()
    lease.release()
    assert await drain is True
    assert await pool.drain("a", 0) is True  # nothing in flight: at once
    assert await pool.drain("unknown", 0) is True
    pool.undrain("a")
    assert sorted(picks(pool, 2)) == ["a", "b"]


async def test_drain_times_out_with_requests_still_running() -> None:
    pool = UpstreamPool()
    pool.update(urls("a"))
    lease = pool.acquire(set())
    assert lease is not None
    assert await pool.drain("a", 0.01) is False
    assert pool.acquire(set()) is None  # the only replica is draining
    lease.release()
