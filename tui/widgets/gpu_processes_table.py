"""The processes on one host's GPUs: which GPU, pid, memory, and ours (whose) or foreign."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import GpuProcessSnapshot, GpuSnapshot
from fleetdeck.tui.widgets.gauges import mib_size
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.status_light import light_style

# Distinct glyphs as well as colours, so ours and foreign differ on a monochrome terminal.
OURS = "● ours"
FOREIGN = "◆ foreign"


ProcessRow = tuple[GpuSnapshot, GpuProcessSnapshot]


def process_rows(gpus: tuple[GpuSnapshot, ...]) -> dict[str, ProcessRow]:
    """Row key -> (GPU, process), ours first on each GPU, then by memory held."""
    rows: dict[str, ProcessRow] = {}
    for gpu in gpus:
        ordered = sorted(gpu.processes, key=lambda p: (not p.ours, -(p.memory_mib or 0.0)))
        for position, process in enumerate(ordered):
            # A pid the driver hides (containers) is None: its place keeps the key unique.
            who = process.pid if process.pid is not None else f"?{position}"
            rows[f"{gpu.uuid}:{who}"] = (gpu, process)
    return rows


class GpuProcessesTable(KeyedTable):
    COLUMNS = (
        ("gpu", "GPU"),
        ("pid", "PID"),
        ("mem", "Memory"),
        ("owner", "Owner"),
        ("deployment", "Deployment"),
        ("replica", "Replica"),
    )
    # The replica's name starts with its deployment's.
    DROP_ORDER = ("deployment", "pid")

    gpus: var[tuple[GpuSnapshot, ...]] = var(())

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "GPU processes"

    def watch_gpus(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        rows = process_rows(self.gpus)
        self.sync_rows({key: self._cells(gpu, p) for key, (gpu, p) in rows.items()})
        if rows:
            foreign = sum(1 for _gpu, p in rows.values() if not p.ours)
            self.border_subtitle = f"{len(rows)} ({foreign} foreign)" if foreign else str(len(rows))
        else:
            self.border_subtitle = "none"

    def _cells(self, gpu: GpuSnapshot, process: GpuProcessSnapshot) -> Cells:
        variables = self.app.theme_variables
        owner = OURS if process.ours else FOREIGN
        variable = "process-ours" if process.ours else "process-foreign"
        return (
            Text(str(gpu.index), justify="right"),
            Text(NO_VALUE if process.pid is None else str(process.pid), justify="right"),
            Text(mib_size(process.memory_mib), justify="right"),
            Text(owner, style=light_style(variable, variables), end=""),
            Text(process.deployment or NO_VALUE),
            Text(process.replica or NO_VALUE),
        )
