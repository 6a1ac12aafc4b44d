"""A foreign process listening on the first port of a host's port range, over real
sshd: the replica takes the next free port, the foreign listener is neither used nor
touched (still alive and listening after `down`), and the invariants hold."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.faults import invariants
from tests.faults.common import deployment, down, state_dirs, write_fault_inventory
from tests.harness.fleetdeck_cli import fleetdeck

pytestmark = pytest.mark.integration


def test_a_foreign_listener_on_the_first_port_is_skipped(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet = sshd_fleet_factory(1)
    first, _ = fleet.hosts[0].port_range
    inventory = write_fault_inventory(fleet, tmp_path / "fleet.toml", deployment())
    dirs = state_dirs(fleet)
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", first))
        foreign.listen()
        try:
            applied = fleetdeck("apply", str(inventory), "--wait", "--timeout", "30")
            assert applied.returncode == 0, applied.stdout + applied.stderr
            (replica,) = invariants.replicas(inventory)
            assert replica["status"] in ("idle", "active")
            assert replica["port"] == first + 1, replica
            invariants.check_all(inventory, *dirs)
        finally:
            down(inventory)
        invariants.assert_nothing_left(*dirs)
        # Still ours, still listening: a connection is accepted by our socket.
        with socket.create_connection(("127.0.0.1", first), timeout=2):
            conn, _ = foreign.accept()
            conn.close()
