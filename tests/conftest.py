"""Fixtures for every test directory: real sshd fleets from ``tests.harness``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness import SshdFleet, missing_tools_reason, start_sshd_fleet

SshdFleetFactory = Callable[[int], SshdFleet]


@pytest.fixture
def sshd_fleet_factory(tmp_path: Path) -> Iterator[SshdFleetFactory]:
    """Call with n to start n sshd hosts; every fleet started is closed at teardown."""
    started: list[SshdFleet] = []

    def start(n: int) -> SshdFleet:
        reason = missing_tools_reason()
        if reason is not None:
            pytest.skip(reason)
        fleet = start_sshd_fleet(n, tmp_path / f"sshd-fleet-{len(started) + 1}")
        started.append(fleet)
        return fleet

    with contextlib.ExitStack() as stack:
        yield start
        for fleet in started:
            stack.callback(fleet.close)


@pytest.fixture
def sshd_fleet(sshd_fleet_factory: SshdFleetFactory) -> SshdFleet:
    """Three running sshd hosts (host-1..host-3)."""
    return sshd_fleet_factory(3)


@pytest.fixture(autouse=True)
def _user_state_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fleetdeck's journal and overrides go to a per-test directory, never ~/.local/state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
