"""The status -> light mapping, as plain strings, and its colouring from theme variables."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.color import Color
from textual.theme import Theme

from fleetdeck.core.fleet.snapshot import DeploymentStatus, HostState, ReplicaStatus
from fleetdeck.themes import FLEETDECK_DARK, FLEETDECK_LIGHT, STATUS_VARIABLES
from fleetdeck.tui.widgets.status_light import (
    deployment_light,
    host_light,
    light_style,
    replica_light,
    styled_light,
)

DEPLOYMENT_LIGHTS = {
    DeploymentStatus.ACTIVE: ("● active", "status-active"),
    DeploymentStatus.LOADING: ("◐ loading", "status-loading"),
    DeploymentStatus.IDLE: ("○ idle", "status-idle"),
    DeploymentStatus.STOPPED: ("■ stopped", "status-stopped"),
    DeploymentStatus.DEGRADED: ("▲ degraded", "status-degraded"),
    DeploymentStatus.FAILED: ("✖ failed", "status-failed"),
}

REPLICA_LIGHTS = {
    ReplicaStatus.PENDING: ("· pending", "status-loading"),
    ReplicaStatus.STARTING: ("◐ starting", "status-loading"),
    ReplicaStatus.ACTIVE: ("● active", "status-active"),
    ReplicaStatus.IDLE: ("○ idle", "status-idle"),
    ReplicaStatus.STOPPING: ("◑ stopping", "status-stopped"),
    ReplicaStatus.STOPPED: ("■ stopped", "status-stopped"),
    ReplicaStatus.FAILED: ("✖ failed", "status-failed"),
    ReplicaStatus.UNKNOWN: ("? unknown", "status-unknown"),
}

HOST_LIGHTS = {
    HostState.CONNECTING: ("◐ connecting", "status-loading"),
    HostState.UP: ("● up", "status-active"),
    HostState.UNREACHABLE: ("✖ unreachable", "status-failed"),
}


@pytest.mark.parametrize("status", list(DeploymentStatus))
def test_deployment_light(status: DeploymentStatus) -> None:
    light = deployment_light(status)
    assert (light.text, light.variable) == DEPLOYMENT_LIGHTS[status]


@pytest.mark.parametrize("status", list(ReplicaStatus))
def test_replica_light(status: ReplicaStatus) -> None:
    light = replica_light(status)
    assert (light.text, light.variable) == REPLICA_LIGHTS[status]


@pytest.mark.parametrize("state", list(HostState))
def test_host_light(state: HostState) -> None:
    light = host_light(state)
    assert (light.text, light.variable) == HOST_LIGHTS[state]


def test_statuses_that_differ_look_different() -> None:
    # A colour-blind user (or a monochrome terminal) tells deployment states by glyph.
    glyphs = [deployment_light(status).glyph for status in DeploymentStatus]
    assert len(set(glyphs)) == len(glyphs)


@pytest.mark.parametrize("theme", [FLEETDECK_DARK, FLEETDECK_LIGHT], ids=lambda t: t.name)
def test_every_light_variable_is_defined_by_our_themes(theme: Theme) -> None:
    used = {light.variable for light in map(deployment_light, DeploymentStatus)}
    used |= {light.variable for light in map(replica_light, ReplicaStatus)}
    used |= {light.variable for light in map(host_light, HostState)}
    assert used <= set(STATUS_VARIABLES)
    assert set(STATUS_VARIABLES) <= set(theme.variables)


def test_styled_light_takes_the_colour_of_its_variable() -> None:
    text = styled_light(deployment_light(DeploymentStatus.FAILED), FLEETDECK_DARK.variables)
    assert text.plain == "✖ failed"
    assert text.style == Style(
        color=Color.parse(FLEETDECK_DARK.variables["status-failed"]).rich_color
    )


def test_translucent_colour_is_blended_over_the_background() -> None:
    style = light_style("status-stopped", {"status-stopped": "#FFFFFF80", "background": "#000000"})
    assert style.color is not None
    assert style.color.triplet is not None
    assert style.color.triplet.red in range(120, 136)


@pytest.mark.parametrize("value", [None, "ansi_default 50%", "not a colour"])
def test_unusable_colour_falls_back_to_the_terminal_default(value: str | None) -> None:
    variables = {} if value is None else {"status-idle": value}
    assert light_style("status-idle", variables) == Style.null()


def test_a_host_with_a_full_state_dir_says_so_in_the_failed_colour() -> None:
    light = host_light(HostState.UP, disk_full=True)
    assert (light.label, light.variable) == ("disk full", "status-failed")
    assert host_light(HostState.UNREACHABLE, disk_full=True).label == "unreachable"
