"""One host's GPUs, one row each: temperature, utilisation and memory bars, power.

Every GPU source (NVML, nvidia-smi, the simulator) reports the same protocol fields, so
the rows do not care which one answered; a field the GPU does not report is a dash.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import GpuSnapshot
from fleetdeck.tui.widgets.gauges import meter, percent, power, ratio, temperature, used_of_total
from fleetdeck.tui.widgets.gpu_summary import short_gpu_name
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable

BAR_WIDTH = 10


def process_count(gpu: GpuSnapshot) -> str:
    """ "2", or "2 (1 foreign)": a foreign tenant is what an operator looks for."""
    foreign = sum(1 for p in gpu.processes if not p.ours)
    count = str(len(gpu.processes))
    return f"{count} ({foreign} foreign)" if foreign else count


class GpuTable(KeyedTable):
    COLUMNS = (
        ("index", "#"),
        ("name", "GPU"),
        ("temp", "Temp"),
        ("util", "Util"),
        ("mem", "Memory"),
        ("power", "Power"),
        ("procs", "Procs"),
    )
    # The processes table below says who runs where; the power draw is the least telling.
    DROP_ORDER = ("power", "procs")

    gpus: var[tuple[GpuSnapshot, ...]] = var(())

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "GPUs"

    def watch_gpus(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        # Keyed by UUID: indexes can be renumbered (CUDA_VISIBLE_DEVICES), UUIDs cannot.
        self.sync_rows({g.uuid: self._cells(g) for g in self.gpus})
        self.border_subtitle = "" if self.gpus else "none reported"

    def _cells(self, gpu: GpuSnapshot) -> Cells:
        variables = self.app.theme_variables
        utilisation = None if gpu.utilization_pct is None else gpu.utilization_pct / 100
        return (
            Text(str(gpu.index), justify="right"),
            Text(short_gpu_name(gpu.name)),
            temperature(gpu.temperature_c, variables),
            meter(utilisation, BAR_WIDTH, f"{percent(gpu.utilization_pct):>4}", variables),
            meter(
                ratio(gpu.memory_used_mib, gpu.memory_total_mib),
                BAR_WIDTH,
                used_of_total(gpu.memory_used_mib, gpu.memory_total_mib),
                variables,
            ),
            Text(power(gpu.power_w, gpu.power_limit_w), justify="right"),
            Text(process_count(gpu), justify="right"),
        )
