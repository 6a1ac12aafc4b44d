"""One row per host: name, state, GPU count, a GPU summary line, CPU and load."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import HostSnapshot
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE, summarize_gpus
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.status_light import host_light, styled_light


def _number(value: float | None, template: str) -> Text:
    return Text(NO_VALUE if value is None else template.format(value), justify="right")


class HostsTable(KeyedTable):
    COLUMNS = (
        ("name", "Host"),
        ("state", "State"),
        ("gpus", "GPUs"),
        ("gpu_summary", "GPU summary"),
        ("cpu", "CPU"),
        ("load", "Load"),
    )
    # The summary counts the GPUs too.
    DROP_ORDER = ("load", "cpu", "gpus")

    hosts: var[tuple[HostSnapshot, ...]] = var(())
    """Set by the app from each snapshot; the rows follow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Hosts"

    def watch_hosts(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        self.sync_rows({h.name: self._cells(h) for h in self.hosts})

    def _cells(self, host: HostSnapshot) -> Cells:
        return (
            Text(host.name),
            styled_light(
                host_light(host.state, host.disk_full is not None), self.app.theme_variables
            ),
            Text(str(len(host.gpus)), justify="right"),
            Text(summarize_gpus(host.gpus)),
            _number(host.cpu_pct, "{:.0f}%"),
            _number(host.load_1m, "{:.2f}"),
        )
