"""The hosts screen's table: one row per host, its GPUs, CPU, memory and lease at a glance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import GpuSnapshot, HostSnapshot
from fleetdeck.tui.widgets.gauges import loads, percent, temperature, used_of_total
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE, short_gpu_name
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.status_light import host_light, styled_light


def gpu_models(host: HostSnapshot) -> str:
    """ "2× H100", "1× H100 + 1× A10"; "none" when the host said it has no GPU source."""
    if not host.gpus:
        return "none" if host.gpu_source == "none" else NO_VALUE
    counts = Counter(short_gpu_name(gpu.name) for gpu in host.gpus)
    return " + ".join(f"{count}× {name}" for name, count in counts.items())


def hottest(gpus: Sequence[GpuSnapshot]) -> float | None:
    # The hottest GPU is the one that throttles first, so it speaks for the host.
    known = [g.temperature_c for g in gpus if g.temperature_c is not None]
    return max(known) if known else None


def mean_utilisation(gpus: Sequence[GpuSnapshot]) -> float | None:
    known = [g.utilization_pct for g in gpus if g.utilization_pct is not None]
    return sum(known) / len(known) if known else None


def gpu_memory(gpus: Sequence[GpuSnapshot]) -> tuple[float | None, float | None]:
    """Used and total MiB over the host's GPUs that report them."""
    used = [g.memory_used_mib for g in gpus if g.memory_used_mib is not None]
    total = [g.memory_total_mib for g in gpus if g.memory_total_mib is not None]
    return (sum(used) if used else None, sum(total) if total else None)


def lease_owner(holder: str | None) -> str:
    """ "alice@laptop" of "alice@laptop/<machine id>:4711": who, not which process.

    The Lease column's stand-in on a narrow terminal; the host's detail screen has it all.
    """
    if holder is None:
        return NO_VALUE
    who = holder.rpartition(":")[0] or holder
    return who.partition("/")[0]


def _right(text: str) -> Text:
    return Text(text, justify="right")


class HostListTable(KeyedTable):
    COLUMNS = (
        ("name", "Host"),
        ("state", "State"),
        ("gpus", "GPUs"),
        ("temp", "Temp"),
        ("util", "Util"),
        ("gpu_mem", "GPU mem"),
        ("cpu", "CPU"),
        ("load", "Load"),
        ("mem", "Mem"),
        ("lease", "Lease"),
        ("lease_owner", "Lease"),
    )
    # Narrow (80 columns), the lease says who without the process, then the host's own CPU
    # goes: the GPUs are what a fleet serves.
    DROP_ORDER = ("lease", "load", "cpu", "temp", "util")
    STAND_INS = {"lease": "lease_owner"}

    hosts: var[tuple[HostSnapshot, ...]] = var(())
    """Set by the hosts screen from each snapshot; the rows follow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Hosts"

    def watch_hosts(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        self.sync_rows({h.name: self._cells(h) for h in self.hosts})
        self.border_subtitle = f"{len(self.hosts)} host{'' if len(self.hosts) == 1 else 's'}"

    def _cells(self, host: HostSnapshot) -> Cells:
        variables = self.app.theme_variables
        used, total = gpu_memory(host.gpus)
        return (
            Text(host.name),
            styled_light(host_light(host.state, host.disk_full is not None), variables),
            Text(gpu_models(host)),
            temperature(hottest(host.gpus), variables),
            _right(percent(mean_utilisation(host.gpus))),
            _right(used_of_total(used, total)),
            _right(percent(host.cpu_pct)),
            _right(loads(host.load_1m)),
            _right(used_of_total(host.memory_used_mib, host.memory_total_mib)),
            Text(host.lease_holder or NO_VALUE),
            Text(lease_owner(host.lease_holder)),
        )
