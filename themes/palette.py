"""fleetdeck's colours: the only place in the project where a colour literal lives.

Each status has a theme variable of its own (`$status-active`, ...), so a theme can
recolour the status lights without touching a widget, and `.tcss` files refer to
statuses by name, never by colour.
"""

from __future__ import annotations

from textual.theme import Theme

STATUS_VARIABLES: tuple[str, ...] = (
    "status-active",
    "status-loading",
    "status-idle",
    "status-stopped",
    "status-degraded",
    "status-failed",
    "status-unknown",
)
"""Every status colour variable a widget may ask for."""

LEVEL_VARIABLES: tuple[str, ...] = ("level-info", "level-warning", "level-error")
"""Colours of an event's level (`Event.level`) in the events panel."""

SPARKLINE_VARIABLES: tuple[str, ...] = (
    "spark-rate",
    "spark-latency",
    "spark-latency-warning",
    "spark-latency-critical",
)
"""Colours of the request-rate and latency sparklines; latency points past the console's
thresholds (tui/widgets/metrics_text.py) take the warning and critical ones."""

HOST_VARIABLES: tuple[str, ...] = (
    "temp-ok",
    "temp-warm",
    "temp-hot",
    "meter-fill",
    "meter-empty",
    "process-ours",
    "process-foreign",
)
"""Colours of the hosts screens: GPU temperature levels, usage bars, whose process."""

LOG_VARIABLES: tuple[str, ...] = (
    *(f"log-replica-{index}" for index in range(6)),
    "log-match",
    "log-match-text",
    "log-notice",
)
"""The logs screen: a replica prefix's colour by slot (tui.log_model.REPLICA_COLOURS),
a search match's background and text, and fleetdeck's own notice lines."""

# For themes that are not ours (Textual's built-ins, picked from the command palette):
# borrow the theme's own semantic colours so the lights still match its palette.
_STATUS_FROM_THEME: dict[str, str] = {
    "status-active": "success",
    "status-loading": "primary",
    "status-idle": "secondary",
    "status-stopped": "foreground-muted",
    "status-degraded": "warning",
    "status-failed": "error",
    "status-unknown": "accent",
    "level-info": "foreground-muted",
    "level-warning": "warning",
    "level-error": "error",
    "spark-rate": "primary",
    "spark-latency": "accent",
    "temp-ok": "success",
    "temp-warm": "warning",
    "temp-hot": "error",
    "meter-fill": "primary",
    "meter-empty": "foreground-muted",
    "process-ours": "success",
    "process-foreign": "warning",
    "spark-latency-warning": "warning",
    "spark-latency-critical": "error",
    "log-replica-0": "primary",
    "log-replica-1": "success",
    "log-replica-2": "accent",
    "log-replica-3": "secondary",
    "log-replica-4": "warning",
    "log-replica-5": "error",
    "log-match": "accent",
    "log-match-text": "background",
    "log-notice": "foreground-muted",
}

FLEETDECK_DARK = Theme(
    name="fleetdeck-dark",
    primary="#4C9EEB",
    secondary="#2D6CA8",
    accent="#F5A524",
    warning="#D29922",
    error="#F85149",
    success="#3FB950",
    foreground="#D7DCE2",
    background="#0E1116",
    surface="#161B22",
    panel="#1F2630",
    dark=True,
    variables={
        "status-active": "#3FB950",
        "status-loading": "#58A6FF",
        "status-idle": "#56B6C2",
        "status-stopped": "#6E7681",
        "status-degraded": "#D29922",
        "status-failed": "#F85149",
        "status-unknown": "#A371F7",
        "level-info": "#8B949E",
        "level-warning": "#D29922",
        "level-error": "#F85149",
        "spark-rate": "#58A6FF",
        "spark-latency": "#F5A524",
        "temp-ok": "#3FB950",
        "temp-warm": "#D29922",
        "temp-hot": "#F85149",
        "meter-fill": "#58A6FF",
        "meter-empty": "#484F58",
        "process-ours": "#56B6C2",
        "process-foreign": "#F5A524",
        "spark-latency-warning": "#DB6D28",
        "spark-latency-critical": "#F85149",
        "log-replica-0": "#58A6FF",
        "log-replica-1": "#3FB950",
        "log-replica-2": "#F5A524",
        "log-replica-3": "#D2A8FF",
        "log-replica-4": "#56B6C2",
        "log-replica-5": "#FF7B72",
        "log-match": "#F5A524",
        "log-match-text": "#0E1116",
        "log-notice": "#8B949E",
        "footer-key-foreground": "#4C9EEB",
    },
)

FLEETDECK_LIGHT = Theme(
    name="fleetdeck-light",
    primary="#0969DA",
    secondary="#1B4F8A",
    accent="#BF8700",
    warning="#9A6700",
    error="#CF222E",
    success="#1A7F37",
    foreground="#1F2328",
    background="#F6F8FA",
    surface="#FFFFFF",
    panel="#E7ECF2",
    dark=False,
    variables={
        "status-active": "#1A7F37",
        "status-loading": "#0969DA",
        "status-idle": "#1B7C83",
        "status-stopped": "#6E7781",
        "status-degraded": "#9A6700",
        "status-failed": "#CF222E",
        "status-unknown": "#8250DF",
        "level-info": "#59636E",
        "level-warning": "#9A6700",
        "level-error": "#CF222E",
        "spark-rate": "#0969DA",
        "spark-latency": "#BF8700",
        "temp-ok": "#1A7F37",
        "temp-warm": "#9A6700",
        "temp-hot": "#CF222E",
        "meter-fill": "#0969DA",
        "meter-empty": "#AFB8C1",
        "process-ours": "#1B7C83",
        "process-foreign": "#BF8700",
        "spark-latency-warning": "#BC4C00",
        "spark-latency-critical": "#CF222E",
        "log-replica-0": "#0969DA",
        "log-replica-1": "#1A7F37",
        "log-replica-2": "#9A6700",
        "log-replica-3": "#8250DF",
        "log-replica-4": "#1B7C83",
        "log-replica-5": "#CF222E",
        "log-match": "#FFD33D",
        "log-match-text": "#1F2328",
        "log-notice": "#59636E",
        "footer-key-foreground": "#0969DA",
    },
)

# For low vision and washed-out projectors: pure black and white, with status colours at
# full brightness, each well above a 7:1 contrast with the background (WCAG AAA).
FLEETDECK_HIGH_CONTRAST = Theme(
    name="fleetdeck-high-contrast",
    primary="#00BFFF",
    secondary="#FFFFFF",
    accent="#FFFF00",
    warning="#FFFF00",
    error="#FF6666",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#000000",
    dark=True,
    variables={
        "status-active": "#00FF00",
        "status-loading": "#00BFFF",
        "status-idle": "#00FFFF",
        "status-stopped": "#C0C0C0",
        "status-degraded": "#FFFF00",
        "status-failed": "#FF6666",
        "status-unknown": "#FF80FF",
        "level-info": "#FFFFFF",
        "level-warning": "#FFFF00",
        "level-error": "#FF6666",
        "spark-rate": "#00BFFF",
        "spark-latency": "#FFFF00",
        "spark-latency-warning": "#FFA500",
        "spark-latency-critical": "#FF6666",
        "temp-ok": "#00FF00",
        "temp-warm": "#FFFF00",
        "temp-hot": "#FF6666",
        "meter-fill": "#00BFFF",
        "meter-empty": "#A0A0A0",
        "process-ours": "#00FFFF",
        "process-foreign": "#FFFF00",
        "log-replica-0": "#00BFFF",
        "log-replica-1": "#00FF00",
        "log-replica-2": "#FFFF00",
        "log-replica-3": "#FF80FF",
        "log-replica-4": "#00FFFF",
        "log-replica-5": "#FFA500",
        "log-match": "#FFFF00",
        "log-match-text": "#000000",
        "log-notice": "#E0E0E0",
        "footer-key-foreground": "#FFFF00",
        "border": "#FFFFFF",
        "border-blurred": "#C0C0C0",
        "text-muted": "#E0E0E0",
    },
)

THEMES: tuple[Theme, ...] = (FLEETDECK_DARK, FLEETDECK_LIGHT, FLEETDECK_HIGH_CONTRAST)
THEME_NAMES: tuple[str, ...] = tuple(theme.name for theme in THEMES)
DEFAULT_THEME = FLEETDECK_DARK.name


THEMED_VARIABLES: tuple[str, ...] = tuple(_STATUS_FROM_THEME)
"""Every variable our own themes define for themselves (others borrow them, below)."""


def status_variable_defaults(theme: Theme) -> dict[str, str]:
    """Status, level, sparkline, host and log colours for a theme that lacks them.

    Used by App.get_theme_variable_defaults.

    Textual fills in a theme's variables over these, so our own themes keep theirs.
    """
    generated = theme.to_color_system().generate()
    return {variable: generated[source] for variable, source in _STATUS_FROM_THEME.items()}
