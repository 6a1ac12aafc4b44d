"""The ctrl+p palette's fleet entries: the same command table as the `:` line.

The entries come from the app (`palette_entries`), which builds them from `COMMANDS`,
the current snapshot and what this console may do, so the palette and the command line
can never offer different things.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from fleetdeck.tui.commands import PaletteEntry


class CommandHost(Protocol):
    """What the palette needs of the app (FleetdeckApp)."""

    def palette_entries(self) -> list[PaletteEntry]: ...

    def run_command_line(self, line: str) -> None: ...

    def open_command_line(self, line: str = "") -> None: ...


class FleetCommands(Provider):
    def _host(self) -> CommandHost:
        return cast(CommandHost, self.app)

    def _choose(self, entry: PaletteEntry) -> None:
        host = self._host()
        if entry.runs:
            host.run_command_line(entry.line)
        else:
            host.open_command_line(entry.line)

    async def discover(self) -> Hits:
        for entry in self._host().palette_entries():
            yield DiscoveryHit(entry.text, partial(self._choose, entry), help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._host().palette_entries():
            score = matcher.match(entry.text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(entry.text),
                    partial(self._choose, entry),
                    text=entry.text,
                    help=entry.help,
                )
