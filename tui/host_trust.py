"""Trusting a host's key from the console, as `fleetdeck trust` does.

When a host is refused because known_hosts does not vouch for its key, the console says
so once and offers `T` (or `:trust HOST`): the backend fetches the key the host presents
(`host_key`), the trust dialog (tui/screens/trust.py) shows it, and only on the
person's answer does the backend's `trust` (hosts/known_hosts.py, the CLI's own code)
write it; the host is then tried again at once. FleetdeckApp derives from this class.
"""

from __future__ import annotations

from textual.binding import Binding

from fleetdeck.core.intents.host_keys import HostKeyReport, KeyStanding
from fleetdeck.tui.deployment_actions import ACTION_WORKER
from fleetdeck.tui.inventory_edits import InventoryEdits
from fleetdeck.tui.screens.trust import TrustScreen


class HostTrust(InventoryEdits):
    BINDINGS = [
        Binding("T", "trust_host", "Trust key",
                tooltip="check and trust the key of a host refused for it (as `fleetdeck trust`)"),
    ]  # fmt: skip

    _offered_trust: frozenset[str] = frozenset()

    def key_refusals(self) -> tuple[str, ...]:
        return self._backend.key_refusals()

    def offer_trust(self) -> None:
        """Say once for each host newly refused for its key how to trust it."""
        refused = frozenset(self.key_refusals())
        for name in sorted(refused - self._offered_trust):
            self.notify(
                f"{name} presents a host key that known_hosts does not vouch for. "
                f"Press T (or :trust {name}) to see its fingerprint and trust it.",
                title="Host key not trusted",
                severity="warning",
                timeout=20,
            )
        if refused != self._offered_trust:
            self._offered_trust = refused
            self.refresh_bindings()

    def action_trust_host(self, name: str | None = None) -> None:
        refused = self.key_refusals()
        name = name or (refused[0] if refused else None)
        if name is None:
            self.notify("No host is refused for its key.", title="Nothing to trust")
            return
        if self._refused():
            return
        self.run_worker(
            self._check_then_ask(name),
            name=f"check the host key of {name}",
            group=ACTION_WORKER,
            exit_on_error=False,
        )

    async def _check_then_ask(self, name: str) -> None:
        report = await self._backend.host_key(name)
        if report.standing is KeyStanding.TRUSTED:
            self.notify(f"{report.known_hosts} already trusts {report.fingerprint}.",
                        title=f"{name}: nothing to do")  # fmt: skip
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(
                    self._trust(report),
                    name=f"trust the host key of {name}",
                    group=ACTION_WORKER,
                    exit_on_error=False,
                )
            else:
                self.notify("Nothing was written.", title=f"{name}: not trusted")

        self.push_screen(TrustScreen(report), answered)

    async def _trust(self, report: HostKeyReport) -> None:
        replace = report.standing is KeyStanding.CHANGED
        self._backend.trust(report, replace=replace)  # one small file; it emits an event
        verb = "replaced" if replace else "added"
        self.notify(
            f"{verb} {report.pattern} in {report.known_hosts}; connecting again",
            title=f"{report.host}: key trusted",
            timeout=6,
        )
