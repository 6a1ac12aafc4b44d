"""The walking skeleton end to end, as a user runs it: the `fleetdeck` CLI against three
real sshd hosts running the vLLM simulator as their vLLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.hosts.remote.procfs import listening_ports
from tests.harness.inventory_writer import write_inventory
from tests.harness.replica_processes import replica_pids
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

FLEETDECK = str(Path(sys.executable).parent / "fleetdeck")

DEPLOYMENTS = """
[[deployments]]
name = "chat"
model = "sim/chat-model"
replicas = 2
api_key = { env = "THIN_PATH_KEY" }
[deployments.vllm]
extra_args = ["--sim-load-seconds", "1"]

[[deployments]]
name = "embed"
model = "sim/embed-model"
replicas = 2
placement = { strategy = "binpack" }
[deployments.vllm]
extra_args = ["--sim-load-seconds", "1"]
"""
SECRET = "sk-thin-path-secret-0123456789"


def fleetdeck(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THIN_PATH_KEY": SECRET}
    return subprocess.run(
        [FLEETDECK, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_apply_status_down_over_real_sshd(sshd_fleet: SshdFleet, tmp_path: Path) -> None:
    inventory = write_inventory(sshd_fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENTS)
    state_dirs = [h.state_dir for h in sshd_fleet.hosts]
    try:
        applied = fleetdeck("apply", str(inventory), "--wait", "--json", "--timeout", "60")
        assert applied.returncode == 0, applied.stderr + applied.stdout
        document = json.loads(applied.stdout)
        assert len(document["plan"]["actions"]) == 4

        status = fleetdeck("status", str(inventory), "--json")
        assert status.returncode == 0, status.stderr
        snapshot: dict[str, Any] = json.loads(status.stdout)
        assert [h["state"] for h in snapshot["hosts"]] == ["up", "up", "up"]
        replicas = [r for d in snapshot["deployments"] for r in d["replicas"]]
        assert len(replicas) == 4
        assert {r["status"] for r in replicas} <= {"active", "idle"}
        assert {d["status"] for d in snapshot["deployments"]} <= {"active", "idle"}
        for replica in replicas:
            host = sshd_fleet.host(replica["host"])
            assert host.port_range[0] <= replica["port"] <= host.port_range[1]
            assert replica["pid"] > 0
        # Each host has 2 GPUs. spread puts the chat replicas on two hosts; binpack then fills
        # those part-used hosts' last GPUs rather than open the third, empty host.
        chat_hosts = {r["host"] for r in replicas if r["deployment"] == "chat"}
        embed_hosts = {r["host"] for r in replicas if r["deployment"] == "embed"}
        assert len(chat_hosts) == 2
        assert embed_hosts == chat_hosts
        gpus = [g for r in replicas for g in r["gpu_uuids"]]
        assert len(gpus) == len(set(gpus)) == 4

        # The API key reached vLLM by the 0600 env file, never by an argv.
        for pid in sorted(replica_pids(*state_dirs)):
            assert SECRET not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        env_files = list(Path(state_dirs[0]).rglob("env")) + list(Path(state_dirs[1]).rglob("env"))
        assert env_files and all(f.stat().st_mode & 0o777 == 0o600 for f in env_files)

        second = fleetdeck("plan", str(inventory), "--json")
        assert json.loads(second.stdout)["actions"] == []

        # One real chat completion through an SSH port forward, with the API key.
        tested = fleetdeck("test", str(inventory), "chat")
        assert tested.returncode == 0, tested.stderr
        assert " 200 in " in tested.stdout and "TTFT" in tested.stdout
        exported = fleetdeck("export", str(inventory), "chat")
        assert 'api_key = { env = "THIN_PATH_KEY" }' in exported.stdout
        assert SECRET not in exported.stdout
    finally:
        down = fleetdeck("down", str(inventory))
    assert down.returncode == 0, down.stderr
    assert sorted(replica_pids(*state_dirs)) == []
    for host in sshd_fleet.hosts:
        lo, hi = host.port_range
        assert not any(lo <= port <= hi for port in listening_ports())
        assert not any(Path(host.state_dir).glob("*/*/spec.json"))
