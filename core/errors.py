"""The error hierarchy every user-facing failure goes through.

Each error carries a title (what failed), a cause (why) and a next step (what the user
can do about it), so the CLI and the TUI can show all three without parsing strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from fleetdeck.hosts.errors import ActionableError

if TYPE_CHECKING:  # problems.py is imported lazily to keep this module dependency-free
    from fleetdeck.core.inventory.problems import Problem


class FleetdeckError(ActionableError):
    """Base of every core error meant for a person rather than a traceback."""


class InventoryError(FleetdeckError):
    """The inventory file cannot be used; `problems` lists every reason found, in file order.

    `str()` is one `file:line: key.path: message` line per problem, the format editors
    and CI logs understand.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        files = sorted({problem.file for problem in self.problems})
        where = files[0] if len(files) == 1 else "the inventory"
        super().__init__(
            title=f"{where} has {count} problem{'s' if count != 1 else ''}",
            cause="\n".join(problem.format() for problem in self.problems),
            next_step="fix the lines above; nothing was launched or stopped",
        )

    def __str__(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)


class SecretError(FleetdeckError):
    """A secret reference could not be resolved (variable unset, file unreadable or empty)."""


class UsageError(FleetdeckError):
    """A command named something the inventory does not have, or a value out of range:
    the CLI exits 2 (usage), and nothing was started or stopped."""
