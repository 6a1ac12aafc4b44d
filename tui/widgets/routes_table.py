"""The routes screen's table: one row per backend of every [[endpoints]] endpoint (and its
shadow), the arms of one endpoint on adjacent rows so their numbers compare at a glance.

A deployment's own endpoint (`own`) is left out: it has one backend, and the deployment's
row on the fleet screen already has its numbers. Only the fields named here are read, so
an EndpointSnapshot that grows a field (a canary's state) is shown as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.reactive import var

from fleetdeck.core.fleet.snapshot import BackendSnapshot, EndpointSnapshot, ShadowSnapshot
from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.keyed_table import Cells, KeyedTable
from fleetdeck.tui.widgets.status_light import light_style

ROUTED = "routed"
"""The weight of the backend `fleetdeck route --to` sends all of the traffic to."""


def routed_endpoints(endpoints: Iterable[EndpointSnapshot]) -> tuple[EndpointSnapshot, ...]:
    """The endpoints the routes screen lists: [[endpoints]], not deployments' own."""
    return tuple(e for e in endpoints if not e.own)


def format_ms(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.0f}ms" if value < 1000 else f"{value / 1000:.2f}s"


def format_tokens_per_s(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def weight_text(endpoint: EndpointSnapshot, backend: BackendSnapshot) -> str:
    """The weight as the inventory gives it; with a route set, "routed" on the backend that
    takes everything and 0 on the others (the weights no longer apply)."""
    if isinstance(backend, ShadowSnapshot):
        return f"{backend.weight * 100:.0f}%"  # a fraction of the requests, copied
    if endpoint.routed_to is not None:
        return ROUTED if backend.deployment == endpoint.routed_to else "0"
    return f"{backend.weight:g}"


def requests_count(backend: BackendSnapshot) -> int:
    # The shadow's requests are the copies sent to it.
    return backend.sent if isinstance(backend, ShadowSnapshot) else backend.requests


def route_line(endpoint: EndpointSnapshot, backend: BackendSnapshot) -> str:
    """One endpoint's view of one backend, for the deployment's detail screen:
    `chat (http://127.0.0.1:9000/v1): weight 90 · 812 req, 3 err · p50 120ms p95 240ms ·
    TTFT 40ms · 55.2 tok/s`."""
    weight = weight_text(endpoint, backend)
    share = f"shadow {weight}" if isinstance(backend, ShadowSnapshot) else f"weight {weight}"
    return (
        f"{endpoint.name} ({endpoint.url}): {share} · {requests_count(backend)} req,"
        f" {backend.errors} err · p50 {format_ms(backend.p50_ms)}"
        f" p95 {format_ms(backend.p95_ms)} · TTFT {format_ms(backend.ttft_p50_ms)}"
        f" · {format_tokens_per_s(backend.tokens_per_s)} tok/s"
    )


def routes_to(
    deployment: str, endpoints: Iterable[EndpointSnapshot]
) -> list[tuple[EndpointSnapshot, BackendSnapshot]]:
    """Every (endpoint, its numbers for `deployment`) where the deployment is a backend or
    the shadow of an [[endpoints]] endpoint, in the snapshot's order."""
    found = []
    for endpoint in routed_endpoints(endpoints):
        for backend in arms(endpoint):
            if backend.deployment == deployment:
                found.append((endpoint, backend))
    return found


def arms(endpoint: EndpointSnapshot) -> tuple[BackendSnapshot, ...]:
    """The backends, then the shadow."""
    shadow = (endpoint.shadow,) if endpoint.shadow is not None else ()
    return (*endpoint.backends, *shadow)


def _right(text: str, style: Style | str = "") -> Text:
    return Text(text, style=style, justify="right")


class RoutesTable(KeyedTable):
    COLUMNS = (
        ("endpoint", "Endpoint"),
        ("url", "URL"),
        ("policy", "Policy"),
        ("backend", "Backend"),
        ("weight", "Weight"),
        ("requests", "Req"),
        ("errors", "Err"),
        ("p50", "p50"),
        ("p95", "p95"),
        ("ttft", "TTFT"),
        ("tokens", "Tok/s"),
    )
    # At 80 columns the arms' numbers stay; the URL and policy are the same on every row
    # of an endpoint (and in `status`), and p95 says more than p50.
    DROP_ORDER = ("url", "policy", "p50", "ttft")

    endpoints: var[tuple[EndpointSnapshot, ...]] = var(())
    """Set by the routes screen from each snapshot ([[endpoints]] only); the rows follow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Routes"

    def watch_endpoints(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        rows: dict[str, Cells] = {}
        for endpoint in self.endpoints:
            for index, backend in enumerate(arms(endpoint)):
                shadow = isinstance(backend, ShadowSnapshot)
                key = f"{endpoint.name}/{'shadow' if shadow else 'backend'}/{backend.deployment}"
                rows[key] = self._cells(endpoint, backend, first=index == 0)
        self.sync_rows(rows)
        count = len(self.endpoints)
        self.border_subtitle = f"{count} endpoint{'' if count == 1 else 's'}"

    def _cells(self, endpoint: EndpointSnapshot, backend: BackendSnapshot, *, first: bool) -> Cells:
        variables = self.app.theme_variables
        # The endpoint's own columns only on its first row: the arms below read as a group.
        name = Text(endpoint.name, style=Style(bold=True)) if first else Text("")
        shadow = isinstance(backend, ShadowSnapshot)
        label = Text(f"shadow {backend.deployment}" if shadow else backend.deployment)
        if shadow:
            label.stylize(Style(italic=True))
        errors = light_style("status-failed", variables) if backend.errors else Style.null()
        return (
            name,
            Text(endpoint.url if first else ""),
            Text(endpoint.policy if first else ""),
            label,
            _right(weight_text(endpoint, backend)),
            _right(str(requests_count(backend))),
            _right(str(backend.errors), errors),
            _right(format_ms(backend.p50_ms)),
            _right(format_ms(backend.p95_ms)),
            _right(format_ms(backend.ttft_p50_ms)),
            _right(format_tokens_per_s(backend.tokens_per_s)),
        )
