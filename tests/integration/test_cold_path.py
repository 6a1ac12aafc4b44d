"""A cold one-shot command costs one exec per host, counted where sshd logs each session
("Starting session: command ..." at LogLevel VERBOSE), and a changed or damaged host
program is installed again."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.hosts import host_program
from fleetdeck.hosts.errors import RemoteCommandFailed
from fleetdeck.hosts.host_program import HostProgram, program_zip
from fleetdeck.hosts.ssh_transport import SshTarget, SshTransport
from tests.harness.fleetdeck_cli import FLEETDECK, fleetdeck
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet
from tests.harness.sshd_host import SshdHost

pytestmark = pytest.mark.integration


def execs(host: SshdHost) -> int:
    """Commands sshd has started for this host so far (sshd logs each before it runs)."""
    return host.log_file.read_text(errors="replace").count("Starting session: command")


def exec_counts(fleet: SshdFleet) -> dict[str, int]:
    return {host.name: execs(host) for host in fleet.hosts}


def test_a_cold_status_or_check_runs_one_command_per_host(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml"))
    assert exec_counts(fleet) == {"host-1": 0, "host-2": 0}

    first = fleetdeck("status", inventory, "--json")
    assert first.returncode == 0, first.stderr
    assert [h["state"] for h in json.loads(first.stdout)["hosts"]] == ["up", "up"]
    # First contact: the bootstrap finds no program, so the call runs again with it.
    assert exec_counts(fleet) == {"host-1": 2, "host-2": 2}

    again = fleetdeck("status", inventory, "--json")
    assert again.returncode == 0, again.stderr
    assert exec_counts(fleet) == {"host-1": 3, "host-2": 3}

    checked = fleetdeck("check", inventory, "--json")
    assert checked.returncode == 0, checked.stderr + checked.stdout
    # check runs its own python/vLLM probe, then the one observe: two, not three.
    assert exec_counts(fleet) == {"host-1": 5, "host-2": 5}


def test_a_watching_status_refreshes_over_its_open_channels(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    inventory = str(write_inventory(fleet, tmp_path / "fleet.toml"))
    watch = subprocess.Popen(
        [FLEETDECK, "status", inventory, "--watch", "--json", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        frames = [json.loads(watch.stdout.readline()) for _ in range(6)]
    finally:
        watch.kill()
        watch.wait()
    assert [h["state"] for h in frames[-1]["hosts"]] == ["up", "up"]
    # The program sent once, then one long-lived watch channel per host: no exec per frame.
    assert exec_counts(fleet) == {"host-1": 2, "host-2": 2}


def changed_program() -> tuple[str, bytes]:
    """The real zipapp plus one more file: another content hash, still a working program."""
    _, data = program_zip()
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("CHANGED", b"a new release")
    changed = buffer.getvalue()
    return f"fleetdeck-host-{hashlib.sha256(changed).hexdigest()[:16]}.pyz", changed


async def test_a_changed_or_damaged_program_is_installed_again(
    sshd_fleet_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    (host,) = fleet.hosts
    target = SshTarget(
        host.name,
        host.address,
        host.port,
        user=fleet.user,
        identity_file=fleet.client_key,
        known_hosts=fleet.known_hosts,
        ssh_config=(),
    )
    transport = SshTransport(target)
    program = HostProgram(transport, state_dir=str(host.state_dir), simulate={"gpus": 1})
    bin_dir = host.state_dir / ".bin"
    try:
        await program.observe()
        name, data = program_zip()
        assert [p.name for p in bin_dir.glob("*.pyz")] == [name]
        installed = execs(host)
        assert (await program.observe()).gpu_source == "simulated"
        assert execs(host) == installed + 1

        new_name, new_data = changed_program()
        monkeypatch.setattr(host_program, "program_zip", lambda: (new_name, new_data))
        assert (await program.observe()).gpu_source == "simulated"
        assert execs(host) == installed + 3  # a miss, then once more with the new program
        assert (bin_dir / new_name).read_bytes() == new_data
        assert (bin_dir / name).read_bytes() == data  # the old one is left alone

        # The extracted copy the bootstrap runs (with bytecode) matches the zipapp; a
        # changed or extra file in it is noticed, and the copy is made again.
        tree = bin_dir / f"{new_name}.d"
        main_py = tree / host_program.PACKAGE / "main.py"
        original = main_py.read_bytes()
        main_py.write_bytes(b"raise SystemExit('stale copy ran')\n")
        (tree / "json.py").write_text("raise SystemExit('stray module ran')\n")
        assert (await program.observe()).gpu_source == "simulated"
        assert main_py.read_bytes() == original and not (tree / "json.py").exists()

        (bin_dir / new_name).write_bytes(new_data[:-100])  # cut short, same name
        assert (await program.observe()).gpu_source == "simulated"
        assert (bin_dir / new_name).read_bytes() == new_data
        assert execs(host) == installed + 6
    finally:
        await transport.close()


async def test_a_host_that_cannot_run_the_bootstrap_says_why(sshd_fleet_factory: Any) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    (host,) = fleet.hosts
    target = SshTarget(
        host.name,
        host.address,
        host.port,
        user=fleet.user,
        identity_file=fleet.client_key,
        known_hosts=fleet.known_hosts,
        ssh_config=(),
    )
    transport = SshTransport(target)
    try:
        no_python = HostProgram(transport, state_dir=str(host.state_dir), python="python3-nope")
        with pytest.raises(RemoteCommandFailed, match="cannot install fleetdeck's host program"):
            await no_python.observe()
        blocker = host.state_dir.parent / "a-file"
        blocker.write_text("not a directory")
        unwritable = HostProgram(transport, state_dir=str(blocker / "state"))
        with pytest.raises(RemoteCommandFailed) as refused:
            await unwritable.observe()
        assert "cannot install" in str(refused.value) and "cannot write" in str(refused.value)
    finally:
        await transport.close()


async def test_a_refresh_while_watching_asks_over_the_open_channels(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    """Engine.refresh() with watch channels open (the console, a controller): a fresh
    observation from each host, and not one exec more."""
    from fleetdeck.core.engine.engine import Engine
    from fleetdeck.core.inventory import load_inventory

    fleet: SshdFleet = sshd_fleet_factory(2)
    inventory = load_inventory(write_inventory(fleet, tmp_path / "fleet.toml"))
    engine = Engine(inventory, state_dir=tmp_path / "engine")
    try:
        async with engine.watching(3600.0):  # no observation comes unasked after the first
            while not all(s.watch_live for s in engine.sessions.values()):
                await asyncio.sleep(0.05)
            before = exec_counts(fleet)
            seen = {n: s.observation.time for n, s in engine.sessions.items()}  # type: ignore[union-attr]
            snapshot = await engine.refresh()
            assert [h.state.value for h in snapshot.hosts] == ["up", "up"]
            after = {n: s.observation.time for n, s in engine.sessions.items()}  # type: ignore[union-attr]
            assert all(after[n] > seen[n] for n in seen), (seen, after)
            assert exec_counts(fleet) == before
    finally:
        await engine.close()
