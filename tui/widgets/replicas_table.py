"""One row per replica of a deployment, updated in place from each snapshot.

Uptime is the host's time of its latest observation less the replica's start, both on
the host's clock (ours may differ), so it moves at snapshot rate and never by our clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import READY, ReplicaSnapshot, ReplicaStatus
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.status_light import replica_light, styled_light


def _optional(value: object, justify: bool = True) -> Text:
    text = NO_VALUE if value is None else str(value)
    return Text(text, justify="right") if justify else Text(text)


# A replica that runs (or is on its way) has an uptime worth reading; a stopped or failed
# one's start time is that of a process that is gone.
_RUNNING = READY | {ReplicaStatus.STARTING, ReplicaStatus.STOPPING}


def format_uptime(seconds: float | None) -> str:
    """ "45s", "12m", "3h07m", "2d04h": the two largest units, as `ps` and k9s say it."""
    if seconds is None or seconds < 0:
        return NO_VALUE
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def replica_uptime(replica: ReplicaSnapshot, host_time: float | None) -> str:
    if replica.status not in _RUNNING or replica.started_at is None or host_time is None:
        return NO_VALUE
    return format_uptime(host_time - replica.started_at)


def short_gpu(uuid: str) -> str:
    """The first 8 characters of a GPU's UUID, after nvidia-smi's "GPU-" prefix."""
    return uuid.removeprefix("GPU-")[:8]


def gpus_text(uuids: tuple[str, ...]) -> str:
    """ "1 (3f1a2b4c)", "2 (3f1a2b4c,9c2b1170)", "4 (3f1a2b4c,…)"; short, for an 80-column row."""
    if not uuids:
        return NO_VALUE
    shown = [short_gpu(u) for u in uuids[:2]] if len(uuids) <= 2 else [short_gpu(uuids[0]), "…"]
    return f"{len(uuids)} ({','.join(shown)})"


def replica_reason(replica: ReplicaSnapshot) -> str | None:
    """The reason, and for a failed replica the last line its last run wrote (or that it
    wrote nothing): "failed at start 3 times in a row: ... — exited at once with code 1,
    no output". The log panel below has the rest."""
    if replica.status is ReplicaStatus.FAILED and replica.log_excerpt:
        last = replica.log_excerpt[-1].strip()
        return f"{replica.reason} — {last}" if replica.reason else last
    return replica.reason


class ReplicasTable(KeyedTable):
    COLUMNS = (
        ("status", "Status"),
        ("id", "Replica"),
        ("host", "Host"),
        ("port", "Port"),
        ("pid", "PID"),
        ("uptime", "Up"),
        ("gpus", "GPUs"),
        ("phase", "Phase"),
        ("restarts", "Restarts"),
        ("exit", "Exit"),
        ("reason", "Reason"),
    )
    # At 80 columns: status, replica, host, uptime, phase, restarts and the reason.
    DROP_ORDER = ("pid", "port", "gpus", "exit")

    replicas: var[tuple[ReplicaSnapshot, ...]] = var(())
    """Set by the detail screen from each snapshot; the rows follow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Replicas"
        self.host_times: Mapping[str, float] = {}
        """Each host's time of its latest observation, set before `replicas` (uptimes)."""

    def watch_replicas(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        self.sync_rows({r.id: self._cells(r) for r in self.replicas})

    def _cells(self, replica: ReplicaSnapshot) -> Cells:
        # Only a starting replica has a phase worth reading; an old one would mislead.
        phase = replica.phase if replica.status is ReplicaStatus.STARTING else None
        return (
            styled_light(replica_light(replica.status), self.app.theme_variables),
            # The deployment is the screen's title: "r0" says which, in 8 fewer columns.
            Text(replica.id.removeprefix(f"{replica.deployment}/")),
            Text(replica.host),
            _optional(replica.port or None),
            _optional(replica.pid),
            Text(replica_uptime(replica, self.host_times.get(replica.host)), justify="right"),
            Text(gpus_text(replica.gpu_uuids)),
            _optional(phase, justify=False),
            Text(str(replica.restarts), justify="right"),
            _optional(replica.last_exit_code),
            _optional(replica_reason(replica), justify=False),
        )

    def highlighted_replica(self) -> str | None:
        """The replica under the cursor, if there is a row."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value
