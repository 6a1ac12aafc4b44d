"""A fleetdeck inventory (DESIGN.md's TOML) for a fleet of test sshd hosts.

Each simulated host gets its own ``state_dir`` and ``port_range`` because all of them
live on this one machine; ``simulate`` makes the host agent report fake GPUs, and
``vllm`` points at the simulator console script of the venv running the tests, so an
inventory written here drives the real engine against real sshds and real processes.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from tests.harness.sshd import SshdFleet

SIMULATED_GPUS = 2
SIMULATED_GPU_NAME = "NVIDIA H100 80GB HBM3"
SIMULATED_MEMORY_GIB = 80
ZONES = ("a", "b")


def simulator_command() -> str:
    """``<venv>/bin/fleetdeck-sim-vllm serve``, from the interpreter running the tests."""
    # Not .resolve(): the venv's python is a symlink to the base interpreter, whose
    # directory has no fleetdeck-sim-vllm.
    script = Path(sys.executable).parent / "fleetdeck-sim-vllm"
    return f"{shlex.quote(str(script.absolute()))} serve"


def _string(value: str | Path) -> str:
    # A JSON string literal is a valid TOML basic string (same escapes).
    return json.dumps(str(value), ensure_ascii=False)


def _inline_table(values: dict[str, str | int]) -> str:
    items = ", ".join(
        f"{key} = {_string(value) if isinstance(value, str) else value}"
        for key, value in values.items()
    )
    return f"{{ {items} }}"


def inventory_toml(
    fleet: SshdFleet,
    *,
    deployments_toml: str = "",
    vllm_command: str | None = None,
    fleet_name: str = "test",
) -> str:
    """The inventory text; ``deployments_toml`` is appended verbatim."""
    lines = [
        "[fleet]",
        f"name = {_string(fleet_name)}",
        "",
        "[defaults]",
        f"user = {_string(fleet.user)}",
        f"identity_file = {_string(fleet.client_key)}",
        f"known_hosts = {_string(fleet.known_hosts)}",
        f"vllm = {_string(vllm_command or simulator_command())}",
        # The remote side runs on the host's own python3, as on a real GPU box.
        'python = "python3"',
    ]
    simulate = _inline_table(
        {"gpus": SIMULATED_GPUS, "gpu_name": SIMULATED_GPU_NAME, "memory_gib": SIMULATED_MEMORY_GIB}
    )
    for index, host in enumerate(fleet.hosts):
        first, last = host.port_range
        lines += [
            "",
            "[[hosts]]",
            f"name = {_string(host.name)}",
            f"address = {_string(host.address)}",
            f"port = {host.port}",
            f"state_dir = {_string(host.state_dir)}",
            f"port_range = [{first}, {last}]",
            f"labels = {_inline_table({'zone': ZONES[index % len(ZONES)]})}",
            f"simulate = {simulate}",
        ]
    text = "\n".join(lines) + "\n"
    if deployments_toml:
        text += "\n" + deployments_toml
        if not deployments_toml.endswith("\n"):
            text += "\n"
    return text


def write_inventory(
    fleet: SshdFleet,
    path: Path,
    *,
    deployments_toml: str = "",
    vllm_command: str | None = None,
    fleet_name: str = "test",
) -> Path:
    """Write the inventory for ``fleet`` to ``path`` and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        inventory_toml(
            fleet,
            deployments_toml=deployments_toml,
            vllm_command=vllm_command,
            fleet_name=fleet_name,
        )
    )
    return path
