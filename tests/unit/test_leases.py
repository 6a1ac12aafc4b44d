"""Host leases: one controller at a time, expiry, release, and taking over a dead one's."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from fleetdeck.core.engine.leases import holder_is_dead, machine_id
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
