"""The host-key trust dialog: what `fleetdeck trust` shows and asks, in front of the console.

It shows the key the host presents (algorithm and fingerprint) and the `[address]:port`
line it would write to which known_hosts file. A new key is trusted on `y`. A changed
key shows both fingerprints, what known_hosts lists and what the host presents now, and
is replaced only when the host's name is typed: a wrong name refuses (a changed key is
what a machine in the middle looks like). A revoked key is only shown. The dialog
answers True or False; the app then calls the backend's `trust`, the CLI's own code.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from fleetdeck.core.intents.host_keys import HostKeyReport, KeyStanding


class TrustScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Trust", show=False),
        Binding("n", "answer(False)", "No", show=False),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, report: HostKeyReport) -> None:
        super().__init__()
        self.report = report

    @property
    def changed(self) -> bool:
        return self.report.standing is KeyStanding.CHANGED

    def compose(self) -> ComposeResult:
        report = self.report
        questions = {
            KeyStanding.NEW: f"Trust the host key of {report.host}?",
            KeyStanding.CHANGED: f"The host key of {report.host} has CHANGED",
            KeyStanding.REVOKED: f"{report.host} presents a REVOKED key",
            KeyStanding.TRUSTED: f"{report.known_hosts} already trusts this key",
        }
        via = (
            ""
            if report.inventory_address in report.pattern
            else f"  (inventory address {report.inventory_address})"
        )
        # A fingerprint gets a line of its own: cut short, it could not be compared.
        lines = [
            f"host         {report.host}",
            f"address      {report.pattern}{via}",
            f"algorithm    {report.algorithm}",
            f"{'presents now' if self.changed else 'fingerprint '} {report.fingerprint}",
        ]
        if self.changed:
            lines += [f"{'listed' if i == 0 else '':12} {fp}" for i, fp in enumerate(report.listed)]
        lines.append(f"known_hosts  {report.known_hosts}")
        with Vertical(id="trust-box"):
            yield Label(questions[report.standing], id="trust-question")
            yield Label("\n".join(lines), id="trust-detail", markup=False)
            if report.standing is KeyStanding.NEW:
                yield Label(
                    "Compare the fingerprint with `ssh-keygen -lf "
                    "/etc/ssh/ssh_host_ed25519_key.pub` on the host first.\n"
                    f"y writes {report.pattern} to known_hosts · n / Esc nothing",
                    id="trust-keys",
                    markup=False,
                )
            elif self.changed:
                yield Label(
                    "Someone may be intercepting the connection, or the host was "
                    "reinstalled: ask its owner. To replace the listed key, type the "
                    "host's name and press Enter; Esc writes nothing.",
                    id="trust-keys",
                    markup=False,
                )
                yield Input(placeholder=f"type {report.host} to replace", id="trust-input")
            else:
                yield Label("Nothing to write · Esc closes", id="trust-keys")

    def on_mount(self) -> None:
        if self.changed:
            self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() == self.report.host)

    def action_answer(self, yes: bool) -> None:
        # Only a new key is trusted on `y`; a changed one needs its host's name typed.
        self.dismiss(yes and self.report.standing is KeyStanding.NEW)
