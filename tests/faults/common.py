"""The fault scenarios' shared inventory: short backoff and SSH timeouts so each
scenario takes seconds, on real sshd hosts from tests/harness."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from tests.harness.fleetdeck_cli import fleetdeck
from tests.harness.inventory_writer import inventory_toml
from tests.harness.sshd import SshdFleet

SSH_SETTINGS = 'keepalive_interval = "1s"\nkeepalive_count = 2\nconnect_timeout = "2s"\n'


def deployment(name: str = "chat", replicas: int = 1, load_s: float = 0.3, extra: str = "") -> str:
    return (
        f'\n[[deployments]]\nname = "{name}"\nmodel = "sim/{name}"\nreplicas = {replicas}\n'
        f'restart_backoff = "1s"\n{extra}'
        f'[deployments.vllm]\nextra_args = ["--sim-load-seconds", "{load_s:g}"]\n'
    )


def write_fault_inventory(
    fleet: SshdFleet, path: Path, deployments: str, vllm_command: str | None = None
) -> Path:
    text = inventory_toml(fleet, deployments_toml=deployments, vllm_command=vllm_command)
    path.write_text(text.replace("[defaults]\n", "[defaults]\n" + SSH_SETTINGS, 1))
    return path


def state_dirs(fleet: SshdFleet) -> list[Path]:
    return [Path(h.state_dir) for h in fleet.hosts]


def kill_group(replica_dir: Path) -> int:
    """kill -9 the replica's whole process group (as the OOM killer or a user might)."""
    pgid = int((replica_dir / "pgid").read_text())
    os.killpg(pgid, signal.SIGKILL)
    return pgid


def down(inventory: Path) -> None:
    result = fleetdeck("down", str(inventory))
    assert result.returncode == 0, result.stdout + result.stderr


READY = ("active", "idle")


def ready_replicas(inventory: Path) -> list[dict[str, Any]]:
    from tests.faults.invariants import replicas

    return [r for r in replicas(inventory) if r["status"] in READY]
