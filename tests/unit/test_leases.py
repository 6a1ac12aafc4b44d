"""Host leases: one controller at a time, expiry, release, and taking over a dead one's."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.engine.leases import LeaseRefusal, holder_is_dead, machine_id, take_leases
from fleetdeck.hosts.remote import lease
from fleetdeck.hosts.remote.protocol import LeaseReply


def take(state: Path, holder: str, ttl: float = 30.0, stale: str | None = None) -> LeaseReply:
    return lease.take(
        {"state_dir": str(state), "holder": holder, "ttl_s": ttl, "stale_holder": stale}
    )


def test_second_holder_is_refused_until_the_lease_expires(tmp_path: Path) -> None:
    assert take(tmp_path, "a").acquired
    refused = take(tmp_path, "b")
    assert not refused.acquired and refused.lease is not None and refused.lease.holder == "a"
    assert take(tmp_path, "a").acquired, "the holder renews its own lease"
    assert take(tmp_path, "c", ttl=0.01).acquired is False
    take(tmp_path, "a", ttl=0.05)
    time.sleep(0.1)
    assert take(tmp_path, "b").acquired, "an expired lease is anyone's"


def test_release_and_stale_takeover(tmp_path: Path) -> None:
    take(tmp_path, "a")
    assert not take(tmp_path, "b", stale="someone-else").acquired
    assert take(tmp_path, "b", stale="a").acquired, "a holder known dead is replaced"
    take(tmp_path, "b", ttl=0)
    assert lease.read_lease(str(tmp_path)) is None
    assert take(tmp_path, "c").acquired


def test_holder_is_dead_only_for_a_gone_process_on_this_machine() -> None:
    me = f"{socket.gethostname()}/{machine_id()}"
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert holder_is_dead(f"u@{me}:{gone.pid}")
    assert not holder_is_dead(f"u@{me}:{os.getpid()}")
    assert not holder_is_dead(f"u@another-machine:{gone.pid}")
    assert not holder_is_dead("garbage")


@pytest.mark.parametrize("holder", ["", "no-colon", "u@h:notapid"])
def test_malformed_holders_are_never_called_dead(holder: str) -> None:
    assert not holder_is_dead(holder)


class _Program:
    """A host's lease over a state dir, with a random delay so that two takers interleave."""

    def __init__(self, state: Path) -> None:
        self.state = state

    async def take_lease(
        self, holder: str, ttl_s: float, *, stale_holder: str | None = None
    ) -> LeaseReply:
        await asyncio.sleep(random.uniform(0, 0.002))
        return take(self.state, holder, ttl_s, stale_holder)


def _engine(states: list[Path]) -> Engine:
    sessions = {
        f"h{i}": SimpleNamespace(observation=object(), program=_Program(state))
        for i, state in reversed(list(enumerate(states)))  # the order must not matter
    }
    return cast(Engine, SimpleNamespace(sessions=sessions))


async def test_two_takers_at_once_never_split_the_hosts(tmp_path: Path) -> None:
    states = [tmp_path / f"h{i}" for i in range(3)]
    for _ in range(40):
        first, second = await asyncio.gather(
            take_leases(_engine(states), "a"), take_leases(_engine(states), "b")
        )
        held = {lease.read_lease(str(s)).holder for s in states}  # type: ignore[union-attr]
        assert len(held) == 1, "one holds every host"
        winner = held.pop()
        won, lost = (first, second) if winner == "a" else (second, first)
        assert won == [] and lost, f"{winner} holds every host; the other was refused"
        for state in states:
            take(state, winner, ttl=0)


async def test_a_taker_refused_anywhere_keeps_no_lease(tmp_path: Path) -> None:
    states = [tmp_path / f"h{i}" for i in range(3)]
    take(states[2], "b")
    refused = await take_leases(_engine(states), "a")
    assert refused == [LeaseRefusal("h2", "b")]
    assert refused[0].describe_holder() == "b"
    assert lease.read_lease(str(states[0])) is None and lease.read_lease(str(states[1])) is None
    assert (
        LeaseRefusal("h2", "u@vm/abc:42").describe_holder() == "u@vm/abc:42 (pid 42 on machine vm)"
    )
