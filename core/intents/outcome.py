"""What a verb did in this process: applied here, or handed over to the controller in charge."""

from __future__ import annotations

from dataclasses import dataclass

from fleetdeck.core.engine.action_runner import ApplyOutcome
from fleetdeck.core.engine.leases import LeaseRefusal

NOTHING_DONE = ApplyOutcome((), ())


@dataclass(frozen=True)
class IntentOutcome:
    """What a verb did in this process."""

    applied: ApplyOutcome = NOTHING_DONE
    handed_over_to: tuple[str, ...] = ()  # "host (held by holder)": who acts instead
    refused_by: tuple[LeaseRefusal, ...] = ()  # the same, as host and holder

    @property
    def handed_over(self) -> bool:
        return bool(self.handed_over_to)

    def waiting_for(self, timeout_s: float) -> str:
        """What a command that waits on the controller in charge says, once."""
        if not self.refused_by:
            return f"waiting for the controller in charge; up to {timeout_s:g}s (--timeout)"
        first = self.refused_by[0]
        return (
            f"waiting for {first.describe_holder()}, which holds the lease of host "
            f"{first.host}; up to {timeout_s:g}s (--timeout)"
        )

    @property
    def ok(self) -> bool:
        return not self.applied.failed
