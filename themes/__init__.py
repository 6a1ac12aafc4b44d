"""Textual themes for fleetdeck; no colour literal lives outside this package."""

from fleetdeck.themes.palette import (
    DEFAULT_THEME,
    FLEETDECK_DARK,
    FLEETDECK_HIGH_CONTRAST,
    FLEETDECK_LIGHT,
    HOST_VARIABLES,
    LEVEL_VARIABLES,
    LOG_VARIABLES,
    SPARKLINE_VARIABLES,
    STATUS_VARIABLES,
    THEME_NAMES,
    THEMED_VARIABLES,
    THEMES,
    status_variable_defaults,
)

__all__ = [
    "DEFAULT_THEME",
    "FLEETDECK_DARK",
    "FLEETDECK_HIGH_CONTRAST",
    "FLEETDECK_LIGHT",
    "HOST_VARIABLES",
    "LEVEL_VARIABLES",
    "LOG_VARIABLES",
    "SPARKLINE_VARIABLES",
    "STATUS_VARIABLES",
    "THEMED_VARIABLES",
    "THEMES",
    "THEME_NAMES",
    "status_variable_defaults",
]
