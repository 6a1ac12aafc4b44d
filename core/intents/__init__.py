"""The front door: every verb the console and the CLI offer, one implementation each."""

from fleetdeck.core.intents.fleet_intents import FleetIntents
from fleetdeck.core.intents.outcome import IntentOutcome

__all__ = ["FleetIntents", "IntentOutcome"]
