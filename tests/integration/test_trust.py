"""Host keys against real sshd: an unknown or changed key is refused with its fingerprint,
known_hosts is untouched until `fleetdeck trust`, and trust refuses what it should.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest

from tests.harness.inventory_writer import inventory_toml
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")
OTHER_LINE = (
    "# kept as is\n"
    "other.example ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAILlqu2mElWTKVZLlVLwL3UGYRMWcWwrDP53JgvTc3SDj  x\n"
)


@pytest.fixture
def fleet(
    sshd_fleet_factory: Callable[[int], SshdFleet], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SshdFleet:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return sshd_fleet_factory(1)


def write_inventory(fleet: SshdFleet, path: Path, known_hosts: Path) -> Path:
    text = inventory_toml(fleet).replace(
        f"known_hosts = {json.dumps(str(fleet.known_hosts))}",
        f"known_hosts = {json.dumps(str(known_hosts))}",
    )
    assert str(known_hosts) in text
    path.write_text(text + 'connect_timeout = "3s"\n')
    return path


def fleetdeck(
    *args: str, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLEETDECK, *args], capture_output=True, text=True, timeout=60, stdin=stdin
    )


def other_key() -> str:
    key = asyncssh.generate_private_key("ssh-ed25519")
    return " ".join(key.export_public_key().decode().split()[:2])


def test_unknown_key_is_refused_until_trusted(fleet: SshdFleet, tmp_path: Path) -> None:
    host = fleet.hosts[0]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(OTHER_LINE)
    before = known_hosts.read_bytes()
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml", known_hosts))

    status = fleetdeck("status", inventory, "--json")
    assert status.returncode != 0
    assert "host-1" in status.stderr and host.host_key_fingerprint in status.stderr
    assert f"fleetdeck trust FILE {host.name}" in status.stderr
    assert json.loads(status.stdout)["hosts"][0]["state"] == "unreachable"

    no_tty = fleetdeck("trust", inventory, "host-1")  # stdin is not a terminal
    assert no_tty.returncode == 2
    assert host.host_key_fingerprint in no_tty.stdout and "--yes" in no_tty.stderr
    assert f"[{host.address}]:{host.port}" in no_tty.stdout
    assert fleetdeck("trust", inventory, "host-9", "--yes").returncode == 2
    assert known_hosts.read_bytes() == before, "nothing but an accepted trust writes"

    trusted = fleetdeck("trust", inventory, "host-1", "--yes")
    assert trusted.returncode == 0, trusted.stderr
    assert known_hosts.read_bytes() == before + f"{host.known_hosts_line}\n".encode()
    assert fleetdeck("status", inventory).returncode == 0

    again = fleetdeck("trust", inventory, "host-1", "--yes")
    assert again.returncode == 0 and "already trusts" in again.stdout
    assert known_hosts.read_bytes() == before + f"{host.known_hosts_line}\n".encode()


def test_changed_key_is_refused_and_replaced_only_on_request(
    fleet: SshdFleet, tmp_path: Path
) -> None:
    host = fleet.hosts[0]
    stale = f"[{host.address}]:{host.port} {other_key()}\n"
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(OTHER_LINE + stale)
    before = known_hosts.read_bytes()
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml", known_hosts))

    status = fleetdeck("status", inventory)
    assert status.returncode != 0
    assert "CHANGED" in status.stderr and host.host_key_fingerprint in status.stderr
    listed = asyncssh.import_public_key(stale.split(" ", 1)[1]).get_fingerprint()
    assert listed in status.stderr  # both: the one known_hosts lists, the one presented
    assert "--replace" in status.stderr
    assert known_hosts.read_bytes() == before, "a refused key leaves known_hosts as it was"

    refused = fleetdeck("trust", inventory, "host-1", "--yes")
    assert refused.returncode == 2
    assert "DIFFERENT" in refused.stdout and "--replace" in refused.stderr
    assert known_hosts.read_bytes() == before

    replaced = fleetdeck("trust", inventory, "host-1", "--yes", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert known_hosts.read_text() == OTHER_LINE + f"{host.known_hosts_line}\n"
    assert fleetdeck("status", inventory).returncode == 0


def test_trust_creates_a_missing_known_hosts_privately(fleet: SshdFleet, tmp_path: Path) -> None:
    host = fleet.hosts[0]
    known_hosts = tmp_path / "new" / "known_hosts"
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml", known_hosts))
    status = fleetdeck("status", inventory)
    assert status.returncode != 0 and host.host_key_fingerprint in status.stderr
    assert not known_hosts.exists()
    assert fleetdeck("trust", inventory, "host-1", "--yes").returncode == 0
    assert known_hosts.read_text() == f"{host.known_hosts_line}\n"
    assert known_hosts.stat().st_mode & 0o777 == 0o600
    assert fleetdeck("status", inventory).returncode == 0


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 1)])
def test_trust_asks_at_a_terminal(fleet: SshdFleet, tmp_path: Path, answer: str, code: int) -> None:
    host = fleet.hosts[0]
    known_hosts = tmp_path / "known_hosts"
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml", known_hosts))
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        result = fleetdeck("trust", inventory, "host-1", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == code, result.stdout + result.stderr
    assert host.host_key_fingerprint in result.stdout
    expected = f"{host.known_hosts_line}\n" if code == 0 else None
    assert (known_hosts.read_text() if known_hosts.exists() else None) == expected


def test_trust_of_an_unreachable_host_fails_cleanly(fleet: SshdFleet, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml", known_hosts))
    fleet.stop_host("host-1")
    result = fleetdeck("trust", inventory, "host-1", "--yes")
    assert result.returncode == 1
    assert "cannot fetch the host key of host-1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not known_hosts.exists()
