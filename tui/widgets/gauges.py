"""Small text gauges for the hosts screens: usage bars, temperature levels and units.

Pure on purpose: every function returns plain strings (or a Rich `Text` built from
them and the app's resolved theme variables), so the bars and thresholds are tested as
strings, without an app. Bars are drawn like nvitop's: whole blocks, one eighth-block
for the remainder, and a light shade for the empty part, so a bar still reads on a
terminal without colour.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from fleetdeck.tui.widgets.gpu_summary import NO_VALUE
from fleetdeck.tui.widgets.status_light import light_style

# Datacenter GPUs (A100, H100) start to throttle in the mid-80s °C; 70 °C is where a
# well-cooled one under load usually sits, so above it is worth a glance.
TEMP_WARM_C = 70.0
TEMP_HOT_C = 83.0

FULL = "█"
EMPTY = "░"
# A bar's last cell in eighths: index n holds n/8 of a cell.
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")

_BINARY_UNITS = ("B", "K", "M", "G", "T", "P")


def temperature_variable(celsius: float | None) -> str | None:
    """The theme variable a temperature is shown in; None when the GPU does not say."""
    if celsius is None:
        return None
    if celsius >= TEMP_HOT_C:
        return "temp-hot"
    if celsius >= TEMP_WARM_C:
        return "temp-warm"
    return "temp-ok"


def bar(fraction: float | None, width: int) -> str:
    """`width` cells filled in proportion to `fraction` (0..1, clamped); blank if unknown.

    Anything above zero shows at least a sliver, so a busy-but-barely GPU is not shown
    as idle.
    """
    if width <= 0:
        return ""
    if fraction is None:
        return " " * width
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    if fraction > 0 and eighths == 0:
        eighths = 1
    full, part = divmod(eighths, 8)
    drawn = FULL * full + _EIGHTHS[part]
    return drawn + EMPTY * (width - len(drawn))


def ratio(used: float | None, total: float | None) -> float | None:
    if used is None or not total:
        return None
    return used / total


def percent(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.0f}%"


def binary_size(value: float | None) -> str:
    """Bytes in the shortest binary unit: 512 -> "512B", 2048 -> "2.0K", 3e11 -> "279G"."""
    if value is None:
        return NO_VALUE
    if value == 0:
        return "0"  # "0B/80G" would read as a unit mismatch
    size = float(value)
    for unit in _BINARY_UNITS:
        if abs(size) < 1024 or unit == _BINARY_UNITS[-1]:
            break
        size /= 1024
    if unit == "B":
        return f"{size:.0f}B"
    return f"{size:.1f}{unit}" if abs(size) < 10 else f"{size:.0f}{unit}"


def mib_size(mib: float | None) -> str:
    return binary_size(None if mib is None else mib * 1024 * 1024)


def used_of_total(used_mib: float | None, total_mib: float | None) -> str:
    """ "61G/80G": what is used of what there is, both in MiB as hosts report them."""
    if used_mib is None and total_mib is None:
        return NO_VALUE
    return f"{mib_size(used_mib)}/{mib_size(total_mib)}"


def rate(bytes_per_s: float | None) -> str:
    return NO_VALUE if bytes_per_s is None else f"{binary_size(bytes_per_s)}/s"


def power(watts: float | None, limit_w: float | None) -> str:
    """ "512/700W", or what is known of it."""
    if watts is None and limit_w is None:
        return NO_VALUE
    shown = NO_VALUE if watts is None else f"{watts:.0f}"
    return f"{shown}W" if limit_w is None else f"{shown}/{limit_w:.0f}W"


def loads(*averages: float | None) -> str:
    """Load averages, "0.42 0.51 0.60"; an unknown one is a dash."""
    if all(a is None for a in averages):
        return NO_VALUE
    return " ".join(NO_VALUE if a is None else f"{a:.2f}" for a in averages)


def meter(fraction: float | None, width: int, label: str, variables: Mapping[str, str]) -> Text:
    """A coloured bar followed by its label, for a table cell or a summary line."""
    if fraction is None:
        return Text(f"{' ' * width} {label}", end="")
    drawn = bar(fraction, width)
    filled = drawn.rstrip(EMPTY)
    return Text.assemble(
        (filled, light_style("meter-fill", variables)),
        (drawn[len(filled) :], light_style("meter-empty", variables)),
        f" {label}",
        end="",
    )


def temperature(celsius: float | None, variables: Mapping[str, str]) -> Text:
    variable = temperature_variable(celsius)
    if celsius is None or variable is None:
        return Text(NO_VALUE, justify="right", end="")
    return Text(f"{celsius:.0f}°C", style=light_style(variable, variables), justify="right", end="")
