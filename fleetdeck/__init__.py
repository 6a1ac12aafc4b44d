"""fleetdeck: a terminal operations console for vLLM fleets on your own GPU machines.

This package is the composition root (DESIGN.md): it parses the command line, builds
the engine (`fleetdeck.core`) and hands it to the console (`fleetdeck.tui`) or to a
headless command. It is the only package that knows both the UI and the engine.
"""

from __future__ import annotations

import warnings

# asyncssh imports its DSA support at import time, and cryptography 51 deprecates DSA with
# a warning printed on stderr: on every command, before its own output, for an algorithm
# fleetdeck never offers or accepts by choice. Only that one message, from asyncssh, is
# silenced; every other warning still shows. (Every fleetdeck module, hosts included,
# imports this package first.)
warnings.filterwarnings(
    "ignore", message=r"DSA is deprecated", module=r"asyncssh(\.|$)", append=False
)


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
