"""What every headless command says at its end: warnings and the exit code."""

from __future__ import annotations

import sys

from fleetdeck.core.commands.exit_codes import DONE, FAILED, PARTIAL
from fleetdeck.core.intents import FleetIntents


def warn_unreachable(intents: FleetIntents) -> None:
    for error in intents.host_errors().values():
        print(f"warning: {error}", file=sys.stderr)


def exit_code(intents: FleetIntents, ok: bool = True) -> int:
    """0 done, 1 failed, 3 partial (some hosts unreachable, the rest done)."""
    if not ok:
        return FAILED
    return PARTIAL if intents.unreachable_hosts else DONE


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
