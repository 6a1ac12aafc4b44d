"""fleetdeck: a terminal operations console for vLLM fleets on your own GPU machines.

This package is the composition root (DESIGN.md): it parses the command line, builds
the engine (`fleetdeck.core`) and hands it to the console (`fleetdeck.tui`) or to a
headless command. It is the only package that knows both the UI and the engine.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fleetdeck")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
