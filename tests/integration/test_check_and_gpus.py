"""`fleetdeck check` and `fleetdeck gpus` over real sshd."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fleetdeck_cli import fleetdeck
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration


def test_check_names_the_broken_host_and_gpus_lists_every_gpu(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(2)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml")
    # host-2 gets a launch command that does not exist there.
    text = inventory.read_text()
    second = text.index('name = "host-2"')
    text = text[:second] + 'vllm = "/nonexistent/bin/vllm serve"\n' + text[second:]
    inventory.write_text(text)

    checked = fleetdeck("check", str(inventory), "--json")
    assert checked.returncode == 3, checked.stderr  # partial: one host needs attention
    rows = {row["host"]: row for row in json.loads(checked.stdout)}
    assert rows["host-1"]["ok"] and rows["host-1"]["ssh"] == "ok"
    assert rows["host-1"]["python"].startswith("3.")
    assert rows["host-1"]["vllm"].endswith("fleetdeck-sim-vllm")
    assert rows["host-1"]["gpus"] == "2 (simulated)"
    assert not rows["host-2"]["ok"]
    assert "'/nonexistent/bin/vllm' is not on the host's PATH" in rows["host-2"]["problem"]

    gpus = fleetdeck("gpus", str(inventory), "--json")
    assert gpus.returncode == 0, gpus.stderr
    hosts = json.loads(gpus.stdout)
    assert [len(h["gpus"]) for h in hosts] == [2, 2]
    uuids = [g["uuid"] for h in hosts for g in h["gpus"]]
    assert len(set(uuids)) == 4 and all(u.startswith("GPU-") for u in uuids)


def test_check_finds_ray_beside_the_launch_command_and_names_who_needs_it(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    """Ray comes from the host's vLLM environment: `check` looks beside the launcher,
    and its absence is a problem only where a replica over several hosts may run."""
    with_ray, without_ray = tmp_path / "env-a" / "bin", tmp_path / "env-b" / "bin"
    for folder in (with_ray, without_ray):
        folder.mkdir(parents=True)
        (folder / "vllm").write_text("#!/bin/sh\nexit 0\n")
        (folder / "vllm").chmod(0o755)
    (with_ray / "ray").write_text("#!/bin/sh\nexit 0\n")
    (with_ray / "ray").chmod(0o755)
    fleet: SshdFleet = sshd_fleet_factory(2)
    big = '[[deployments]]\nname = "big"\nmodel = "m"\nnodes = 2\ngpus_per_replica = 2\n'
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=big)
    text = inventory.read_text()
    second = text.index('name = "host-2"')
    text = (
        text[:second].replace('name = "host-1"', f'name = "host-1"\nvllm = "{with_ray}/vllm serve"')
        + f'vllm = "{without_ray}/vllm serve"\n'
        + text[second:]
    )
    inventory.write_text(text)

    checked = fleetdeck("check", str(inventory), "--json")
    rows = {row["host"]: row for row in json.loads(checked.stdout)}
    assert rows["host-1"]["ray"] == f"{with_ray}/ray", checked.stderr
    assert rows["host-1"]["ok"]
    assert rows["host-2"]["ray"] == "missing"
    assert (
        "ray is neither beside the launch command nor on PATH; big (nodes > 1)"
        in (rows["host-2"]["problem"])
    )
    assert checked.returncode == 3
