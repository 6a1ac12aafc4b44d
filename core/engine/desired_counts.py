"""How many replicas each deployment should have: the inventory, the user's overrides
(scale, stop, start, restart; kept on the fleet's home host, copied on this machine), and
the autoscaler's count.

Owned by the Engine; the controller and the intents change it through these methods.
An edit lands in this machine's copy at once and waits in `unshared()` until the engine
writes it to the home host (Engine.share); a newer document from the home host, seen in
an observation, replaces the copy (`absorb`), this machine's unsent edits on top.
"""

from __future__ import annotations

from pathlib import Path

from fleetdeck.core.inventory import Inventory
from fleetdeck.core.state.operator import operator_name
from fleetdeck.core.state.overrides import Op, Overrides
from fleetdeck.hosts.observations import FleetOverrides


class DesiredCounts:
    def __init__(self, directory: Path, inventory: Inventory, operator: str = "") -> None:
        self._inventory = inventory
        self.operator = operator or operator_name()
        self._overrides = Overrides(directory, inventory)
        self._user: dict[str, int] = self._overrides.desired()  # scale, stop
        self._autoscaled: dict[str, int] = {}  # in memory: a new controller decides afresh
        self._order = self._overrides.shared_order()  # the home host's, as taken

    def for_inventory(self, inventory: Inventory) -> DesiredCounts:
        """The same file and autoscaler counts, judged against a changed inventory."""
        changed = DesiredCounts(self._overrides.path.parent, inventory, self.operator)
        changed._autoscaled = {k: v for k, v in self._autoscaled.items() if inventory.deployment(k)}
        return changed

    # -- the home host's copy ------------------------------------------------------
    @property
    def revision(self) -> int:
        """The home host's revision this machine's copy starts from (0: none seen)."""
        return self._order[0]

    def absorb(self, document: FleetOverrides) -> bool:
        """A host's document, when newer than the copy: taken (this machine's unsent
        edits stay on top). True when the counts may have changed."""
        if document.order <= self._order:
            return False
        self._overrides.take_shared(document)
        self._order = max(self._order, self._overrides.shared_order())
        self._user = self._overrides.desired()
        return True

    def unshared(self) -> list[Op]:
        """Edits made on this machine that the home host does not have yet."""
        return self._overrides.unshared()

    def shared_document(self) -> FleetOverrides | None:
        return self._overrides.shared_document()

    def shared(self, sent: list[Op], document: FleetOverrides) -> None:
        """The home host now holds `sent`, giving `document`."""
        self._overrides.take_shared(document, sent=sent)
        self._order = max(self._order, self._overrides.shared_order())
        self._user = self._overrides.desired()

    def effective(self) -> dict[str, int]:
        """A user's stop (0) wins; then the autoscaler's count; then the user's scale."""
        counts = {**self._user, **self._autoscaled}
        counts.update({name: 0 for name, n in self._user.items() if n == 0})
        return counts

    def reload(self) -> None:
        """Pick up scale/stop/start written by another fleetdeck process on this machine
        (another machine's come with the home host's observations: `absorb`)."""
        self._user = self._overrides.desired()
        self._order = max(self._order, self._overrides.shared_order())

    def set(self, deployment: str, replicas: int | None, *, by: str = "") -> None:
        """The user's count (None: back to the inventory's); `by` names who asked."""
        self._autoscaled.pop(deployment, None)  # the user's number applies from here
        if replicas is None:
            self._user.pop(deployment, None)
        else:
            self._user[deployment] = replicas
        self._overrides.set(deployment, replicas, by=by, operator=self.operator)

    def set_autoscaled(self, deployment: str, replicas: int) -> None:
        self._autoscaled[deployment] = replicas

    def start(self, deployment: str, *, by: str = "") -> None:
        """Back to the inventory's count; an autoscaled deployment whose floor is 0 wakes
        to one replica (the autoscaler takes it from there)."""
        found = self._inventory.deployment(deployment)
        wake_one = found is not None and found.autoscale is not None and found.autoscale.min == 0
        self.set(deployment, 1 if wake_one else None, by=by)

    def request_restart(self, deployment: str, token: str) -> None:
        """A new restart token: every replica's spec hash changes, so each is replaced."""
        self._overrides.bump_restart(deployment, token, operator=self.operator)

    def routes(self) -> dict[str, str]:
        """Endpoint -> deployment set by `fleetdeck route`, read from disk each time: a
        route set by another process is taken on the next round."""
        return self._overrides.routes()

    def set_route(self, endpoint: str, deployment: str | None, *, by: str = "") -> None:
        self._overrides.set_route(endpoint, deployment, by=by, operator=self.operator)

    def restart_tokens(self) -> dict[str, str]:
        return self._overrides.restart_tokens()

    def in_force(self) -> dict[str, int]:
        """Replica counts set by scale/stop that still override the inventory."""
        return dict(self._user)

    def describe(self) -> list[str]:
        """The overrides in force, in words, for plan and apply to say what they keep."""
        return self._overrides.describe_in_force()

    def forget(self, deployment: str | None = None) -> None:
        """Back to the inventory: drop a deployment's (or every) scale, stop and restart."""
        names = [deployment] if deployment else list(self._user) + list(self._autoscaled)
        for name in names:
            self._user.pop(name, None)
            self._autoscaled.pop(name, None)
        self._overrides.forget(deployment)
