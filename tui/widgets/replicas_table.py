"""One row per replica of a deployment, updated in place from each snapshot."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import ReplicaSnapshot, ReplicaStatus
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.status_light import replica_light, styled_light


def _optional(value: object, justify: bool = True) -> Text:
    text = NO_VALUE if value is None else str(value)
    return Text(text, justify="right") if justify else Text(text)


class ReplicasTable(KeyedTable):
    COLUMNS = (
        ("status", "Status"),
        ("id", "Replica"),
        ("host", "Host"),
        ("port", "Port"),
        ("pid", "PID"),
        ("phase", "Phase"),
        ("restarts", "Restarts"),
        ("exit", "Exit"),
        ("reason", "Reason"),
    )

    replicas: var[tuple[ReplicaSnapshot, ...]] = var(())
    """Set by the detail screen from each snapshot; the rows follow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Replicas"

    def watch_replicas(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        self.sync_rows({r.id: self._cells(r) for r in self.replicas})

    def _cells(self, replica: ReplicaSnapshot) -> Cells:
        # Only a starting replica has a phase worth reading; an old one would mislead.
        phase = replica.phase if replica.status is ReplicaStatus.STARTING else None
        return (
            styled_light(replica_light(replica.status), self.app.theme_variables),
            Text(replica.id),
            Text(replica.host),
            _optional(replica.port or None),
            _optional(replica.pid),
            _optional(phase, justify=False),
            Text(str(replica.restarts), justify="right"),
            _optional(replica.last_exit_code),
            _optional(replica.reason, justify=False),
        )

    def highlighted_replica(self) -> str | None:
        """The replica under the cursor, if there is a row."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value
