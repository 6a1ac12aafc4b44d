"""`watch` between observations (hosts/remote/observe.wait_for_change): it returns as
soon as a replica's state changes, not at the end of the interval."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fleetdeck.hosts.remote import layout, observe
from fleetdeck.hosts.remote.protocol import ReplicaObservation


def stopped_replica() -> ReplicaObservation:
    return ReplicaObservation(
        deployment="llm", replica="r0", port=None, bind_host="127.0.0.1", spec_hash="",
        gpu_uuids=(), pid=None, alive=False, wrapper_alive=True, healthy=False,
        stop_requested=False, exits=(), started_at=None, created_at=None, log_size=0,
        log_tail=(),
    )  # fmt: skip


def test_an_exit_recorded_ends_the_wait_at_once(tmp_path: Path) -> None:
    replica_dir = tmp_path / "llm" / "r0"
    replica_dir.mkdir(parents=True)
    (replica_dir / layout.SPEC).write_text("{}")
    ended = threading.Event()
    deadline = time.monotonic() + 60

    def wait() -> None:
        observe.wait_for_change(str(tmp_path), [stopped_replica()], deadline, 0.05)
        ended.set()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    assert not ended.wait(0.3), "nothing changed yet"
    (replica_dir / layout.EXITS).write_text("137 1000 restart 5\n")
    assert ended.wait(30), "the new exit ended the wait"
    assert time.monotonic() < deadline


def test_with_no_change_it_waits_until_the_deadline(tmp_path: Path) -> None:
    (tmp_path / "llm" / "r0").mkdir(parents=True)
    until = time.monotonic() + 0.3
    observe.wait_for_change(str(tmp_path), [stopped_replica()], until, 0.05)
    assert time.monotonic() >= until
