"""fleetdeck: a terminal operations console for vLLM fleets on your own GPU machines.

This package is the composition root (DESIGN.md): it parses the command line, builds
the engine (`fleetdeck.core`) and hands it to the console (`fleetdeck.tui`) or to a
headless command. It is the only package that knows both the UI and the engine.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`fleetdeck.__version__`, read from the installed metadata when first asked:
    importlib.metadata takes ~70 ms of CPU to import, on every command, and only
    `--version` needs it."""
    if name != "__version__":
        raise AttributeError(f"module 'fleetdeck' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fleetdeck")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
