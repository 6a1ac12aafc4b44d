"""The top of the host detail screen: connection, lease, GPU source, CPU, memory, disk,
network and the last errors of one host.

`summary_rows` builds the lines from the snapshot alone (plus the app's resolved theme
variables for the bars' colours), so their wording is tested as plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.reactive import var
from textual.widgets import Static

from fleetdeck.core.fleet.snapshot import HostSnapshot
from fleetdeck.tui.widgets.gauges import (
    binary_size,
    loads,
    meter,
    percent,
    rate,
    ratio,
    used_of_total,
)
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.status_light import host_light, light_style, styled_light

BAR_WIDTH = 10
_LABEL_STYLE = Style(dim=True)


def lease_line(host: HostSnapshot) -> str:
    if host.observed_at is None:
        return NO_VALUE  # never heard from: whether anyone holds it is unknown
    if host.lease_holder is None:
        return "nobody holds it: any controller may act here"
    if host.lease_expires_at is None or host.observed_at is None:
        return host.lease_holder
    # Both times are the host's, so our clock's drift does not matter.
    left = max(0.0, host.lease_expires_at - host.observed_at)
    return f"{host.lease_holder}, {left:.0f}s left"


def gpu_source_line(host: HostSnapshot) -> str:
    if host.gpu_source is None:
        return NO_VALUE
    if host.gpu_error:
        return f"{host.gpu_source}: {host.gpu_error}"
    return host.gpu_source


def cpu_label(host: HostSnapshot) -> str:
    cores = f" of {host.cpu_count} cores" if host.cpu_count else ""
    averages = loads(host.load_1m, host.load_5m, host.load_15m)
    return f"{percent(host.cpu_pct)}{cores} · load {averages}"


def disk_label(host: HostSnapshot) -> str:
    used = f"{binary_size(host.disk_used_bytes)}/{binary_size(host.disk_total_bytes)}"
    free = "" if host.disk_free_bytes is None else f", {binary_size(host.disk_free_bytes)} free"
    where = f" · {host.disk_path}" if host.disk_path else ""
    return f"{used}{free}{where}"


def summary_rows(host: HostSnapshot, variables: Mapping[str, str]) -> list[tuple[str, Text]]:
    """(label, value) lines under the status line."""
    rows: list[tuple[str, Text]] = [
        ("lease", Text(lease_line(host))),
        ("gpus via", _gpu_source(host, variables)),
    ]
    if host.observed_at is not None:
        rows += [
            ("cpu", meter(_fraction(host.cpu_pct), BAR_WIDTH, cpu_label(host), variables)),
            (
                "memory",
                meter(
                    ratio(host.memory_used_mib, host.memory_total_mib),
                    BAR_WIDTH,
                    used_of_total(host.memory_used_mib, host.memory_total_mib),
                    variables,
                ),
            ),
            (
                "disk",
                meter(
                    ratio(host.disk_used_bytes, host.disk_total_bytes),
                    BAR_WIDTH,
                    disk_label(host),
                    variables,
                ),
            ),
            ("network", Text(f"↓ {rate(host.net_rx_bytes_s)}  ↑ {rate(host.net_tx_bytes_s)}")),
        ]
    else:
        rows.append(("readings", Text("none yet: the host has not reported")))
    if host.error:
        rows.append(("error", Text(host.error, style=light_style("level-error", variables))))
    return rows


def _gpu_source(host: HostSnapshot, variables: Mapping[str, str]) -> Text:
    # No GPU readings means no placement on this host: worth the warning colour.
    style = light_style("level-warning", variables) if host.gpu_error else Style.null()
    return Text(gpu_source_line(host), style=style)


def _fraction(pct: float | None) -> float | None:
    return None if pct is None else pct / 100


class HostSummary(Static):
    host: var[HostSnapshot | None] = var(None)

    def on_mount(self) -> None:
        # The bars' colours are resolved into the text, so a theme change redraws it.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())
        self._redraw()

    def watch_host(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        self.update(self._render_summary(self.app.theme_variables))

    def _render_summary(self, variables: Mapping[str, str]) -> RenderableType:
        host = self.host
        if host is None:
            return Text("waiting for the first snapshot…")
        status = Text.assemble(
            styled_light(host_light(host.state, host.disk_full is not None), variables),
            "  ",
            (host.name, Style(bold=True)),
            "  ",
            host.address,
        )
        # A grid, so a long error or path wraps under its value, not under the label.
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style=_LABEL_STYLE, no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in summary_rows(host, variables):
            grid.add_row(label, value)
        return Group(status, grid)
