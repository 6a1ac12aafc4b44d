"""The top of the detail screen: status, model, readiness, endpoint, key and a test command.

The lines are built by `header_lines` from the snapshot alone (plus what the inventory
says about the key), as plain strings, so they are tested without an app. The key is
shown masked, and the test command names its variable, never its value: the console
never holds the key (the snapshot carries only its masked form), so there is nothing
to reveal, and the header says where a client finds it instead. The test command is cut
to one line; `c` copies it whole. The figures are the metrics panel's, below, but for
cost: what its GPUs cost now, over the last hour and since this console began watching.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.reactive import var
from textual.widgets import Static

from fleetdeck.core.fleet.snapshot import (
    BackendSnapshot,
    DeploymentCost,
    DeploymentSnapshot,
    EndpointSnapshot,
)
from fleetdeck.core.metrics.cost_text import figures_line, per_hour, span
from fleetdeck.tui.deployment_access import (
    ClientHint,
    api_base,
    curl_command_for,
    endpoint_source,
    key_variable,
)
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.routes_table import route_line
from fleetdeck.tui.widgets.status_light import deployment_light, styled_light

_LABEL_STYLE = Style(dim=True)


def key_summary(deployment: DeploymentSnapshot, hint: ClientHint | None) -> str:
    variable = key_variable(deployment, hint)
    if variable is None:
        return "none (the endpoint is open)"
    masked = deployment.api_key_masked or "set"
    if hint is not None and hint.key_file is not None:
        return f"{masked} (in the file {hint.key_file}; the console never reads it out)"
    return f"{masked} (in ${variable}; the console never holds the value)"


def endpoint_summary(deployment: DeploymentSnapshot) -> str:
    base = api_base(deployment)
    if base is None:
        return NO_VALUE
    source = endpoint_source(deployment)
    return f"{base} · {source}" if source else base


def cost_lines(cost: DeploymentCost) -> list[tuple[str, str]]:
    """What it holds and spends now, over the last hour, and since the fleetdeck process
    that measured it began watching: this console, or the one a replay recorded
    (core/metrics/cost.py says how each figure is counted)."""
    gpus = f"{cost.gpus_held} GPU{'' if cost.gpus_held == 1 else 's'}"
    hour = cost.last_hour
    return [
        (
            "cost",
            f"{per_hour(cost)} now ({gpus}) · last {span(hour.window_s)}: "
            + figures_line(hour, cost.currency),
        ),
        (
            "watched",
            f"{span(cost.since_start.window_s)}: " + figures_line(cost.since_start, cost.currency),
        ),
    ]


Routes = tuple[tuple[EndpointSnapshot, BackendSnapshot], ...]
"""The [[endpoints]] that route to a deployment, each with its numbers for it."""


def header_lines(
    deployment: DeploymentSnapshot, hint: ClientHint | None, routes: Routes = ()
) -> list[tuple[str, str]]:
    """(label, value) lines under the status line; one `router` line per endpoint that
    routes to it (tui/widgets/routes_table.py), the cost lines once there is a cost."""
    lines = [
        ("endpoint", endpoint_summary(deployment)),
        ("api key", key_summary(deployment, hint)),
        ("test", curl_command_for(deployment, hint) or "(no replica is ready yet)"),
    ]
    lines += [("router", route_line(endpoint, backend)) for endpoint, backend in routes]
    if deployment.cost is not None:
        lines += cost_lines(deployment.cost)
    return lines


class DeploymentHeader(Static):
    deployment: var[DeploymentSnapshot | None] = var(None)
    hint: var[ClientHint | None] = var(None)
    routes: var[Routes] = var(())
    """Set by the detail screen from each snapshot; equal numbers redraw nothing."""

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())
        self._redraw()

    def watch_deployment(self) -> None:
        self._redraw()

    def watch_routes(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        self.update(self._render_header(self.app.theme_variables))

    def _render_header(self, variables: Mapping[str, str]) -> RenderableType:
        deployment = self.deployment
        if deployment is None:
            return Text("waiting for the first snapshot…")
        status = Text.assemble(
            styled_light(deployment_light(deployment.status), variables),
            "  ",
            (deployment.name, Style(bold=True)),
            "  ",
            deployment.model,
            "  ",
            f"{deployment.ready}/{deployment.desired} ready",
            no_wrap=True,
            overflow="ellipsis",
        )
        # One row per line, cut with an ellipsis: the header stays 5 rows tall at 80
        # columns, and what is cut (the test command) is what `c` copies whole.
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style=_LABEL_STYLE, no_wrap=True, min_width=8)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        for label, value in header_lines(deployment, self.hint, self.routes):
            grid.add_row(label, Text(value, no_wrap=True, overflow="ellipsis"))
        return Group(status, grid)
