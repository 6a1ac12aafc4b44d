"""Status lights: a glyph, a word and the theme variable that colours them.

The mapping is pure (status in, plain strings out) so it is tested without an app;
`styled_light` turns a light into a Rich `Text` for a DataTable cell, given the
app's resolved theme variables, because table cells are Rich renderables and cannot
refer to `$variables` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError

from fleetdeck.core.fleet.snapshot import DeploymentStatus, HostState, ReplicaStatus


@dataclass(frozen=True)
class StatusLight:
    glyph: str
    label: str
    variable: str
    """Theme variable (without `$`) whose colour the light takes."""

    @property
    def text(self) -> str:
        return f"{self.glyph} {self.label}"


# Glyphs are static on purpose: a spinner would make every screen (and every SVG
# snapshot) depend on the clock.
_DEPLOYMENT: dict[DeploymentStatus, tuple[str, str]] = {
    DeploymentStatus.ACTIVE: ("●", "status-active"),
    DeploymentStatus.LOADING: ("◐", "status-loading"),
    DeploymentStatus.IDLE: ("○", "status-idle"),
    DeploymentStatus.STOPPED: ("■", "status-stopped"),
    DeploymentStatus.DEGRADED: ("▲", "status-degraded"),
    DeploymentStatus.FAILED: ("✖", "status-failed"),
}

_REPLICA: dict[ReplicaStatus, tuple[str, str]] = {
    ReplicaStatus.PENDING: ("·", "status-loading"),
    ReplicaStatus.STARTING: ("◐", "status-loading"),
    ReplicaStatus.ACTIVE: ("●", "status-active"),
    ReplicaStatus.IDLE: ("○", "status-idle"),
    ReplicaStatus.STOPPING: ("◑", "status-stopped"),
    ReplicaStatus.STOPPED: ("■", "status-stopped"),
    ReplicaStatus.FAILED: ("✖", "status-failed"),
    ReplicaStatus.UNKNOWN: ("?", "status-unknown"),
}

_HOST: dict[HostState, tuple[str, str]] = {
    HostState.CONNECTING: ("◐", "status-loading"),
    HostState.UP: ("●", "status-active"),
    HostState.UNREACHABLE: ("✖", "status-failed"),
}


def deployment_light(status: DeploymentStatus) -> StatusLight:
    glyph, variable = _DEPLOYMENT[status]
    return StatusLight(glyph, status.value, variable)


def replica_light(status: ReplicaStatus) -> StatusLight:
    glyph, variable = _REPLICA[status]
    return StatusLight(glyph, status.value, variable)


def host_light(state: HostState, disk_full: bool = False) -> StatusLight:
    """The host's light; an up host whose state dir is full shows that instead of "up"
    (its replicas' exits and logs may be lost), in the failed colour."""
    if disk_full and state is HostState.UP:
        return StatusLight("▲", "disk full", "status-failed")
    glyph, variable = _HOST[state]
    return StatusLight(glyph, state.value, variable)


def light_style(variable: str, variables: Mapping[str, str]) -> Style:
    """The Rich style for a theme variable; no colour rather than a crash if unparsable.

    Some themes give colours with alpha (8-digit hex) or in forms Rich cannot show
    (`ansi_default 50%`): alpha is blended over the theme background, the rest falls
    back to the terminal's default colour.
    """
    value = variables.get(variable)
    if value is None:
        return Style.null()
    return _colour_style(value, variables.get("background", ""))


@lru_cache(maxsize=256)
def _colour_style(value: str, background: str) -> Style:
    # Cached by the colour's text: every table cell of every snapshot asks for one of a
    # few dozen theme colours, and parsing one each time was most of building the
    # fleet table's rows (benchmarks/console_frame.py).
    try:
        colour = Color.parse(value)
    except ColorParseError:
        return Style.null()
    if colour.a < 1:
        try:
            colour = Color.parse(background) + colour
        except ColorParseError:
            colour = colour.with_alpha(1)
    return Style(color=colour.rich_color)


def styled_light(light: StatusLight, variables: Mapping[str, str]) -> Text:
    return Text(light.text, style=light_style(light.variable, variables), end="")
