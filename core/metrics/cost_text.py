"""Cost figures as people read them: the status table, the console's column and detail.

Pure and UI-free, so the CLI and the console say the same thing the same way.
"""

from __future__ import annotations

from fleetdeck.core.fleet.snapshot import CostFigures, DeploymentCost

NO_VALUE = "-"


def money(value: float | None) -> str:
    """2 decimals ("4.20", "1,234.50"); whole units from 100,000 up; "-" when unknown."""
    if value is None:
        return NO_VALUE
    return f"{value:,.0f}" if abs(value) >= 100_000 else f"{value:,.2f}"


def gpu_hours(value: float) -> str:
    return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"


def tokens(value: float) -> str:
    """1234 -> "1.2k", 3_400_000 -> "3.4M"."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def span(seconds: float) -> str:
    """A window's length: "45s", "12m", "1h0m", "3h25m"."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    hours, minutes = divmod(whole // 60, 60)
    return f"{hours}h{minutes}m" if hours else f"{minutes}m"


def per_hour(cost: DeploymentCost) -> str:
    """What it spends per hour now, e.g. "4.20 USD/h"."""
    return f"{money(cost.price_per_hour)} {cost.currency}/h"


def figures_line(figures: CostFigures, currency: str) -> str:
    """One window's figures on one line, for the console's detail screen."""
    # Money first: on a narrow terminal the end of the line is cut.
    parts = [
        f"{money(figures.cost)} {currency}",
        f"{money(figures.cost_per_million_output_tokens)} per M out",
        f"{gpu_hours(figures.gpu_hours)} GPU·h ({gpu_hours(figures.idle_gpu_hours)} idle)",
        f"{tokens(figures.output_tokens)} out / {tokens(figures.total_tokens)} tokens",
        f"{money(figures.cost_per_million_total_tokens)} per M total",
    ]
    return " · ".join(parts)
