"""Test harness: real sshd hosts on loopback addresses and inventories that point at them."""

from tests.harness.inventory_writer import inventory_toml, simulator_command, write_inventory
from tests.harness.sshd import SshdFleet, missing_tools_reason, start_sshd_fleet
from tests.harness.sshd_host import SshdHost

__all__ = [
    "SshdFleet",
    "SshdHost",
    "inventory_toml",
    "missing_tools_reason",
    "simulator_command",
    "start_sshd_fleet",
    "write_inventory",
]
