"""The endpoint's choice of a backend by model and weight, and the blue-green route kept
in the overrides (pure: no server, no replica)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from fleetdeck.core.endpoint.routing import Backend, Route, Splitter, inspect
from fleetdeck.core.inventory import parse_inventory
from fleetdeck.core.state.overrides import Overrides


def facts(route: Route, body: dict[str, object], session: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"X-Session-Id": session} if session else {}
    return inspect(route, "POST", "/v1/chat/completions", headers, json.dumps(body).encode())


def test_the_model_picks_the_backends_and_the_weights_split_them() -> None:
    route = Route(
        (
            Backend("v1", 3, ("llama",)),
            Backend("v2", 1, ("llama",)),
            Backend("qwen", 1, ("qwen", "Qwen/Qwen3-8B")),
        )
    )
    splitter = Splitter()
    chosen = Counter(
        splitter.choose(route, facts(route, {"model": "llama"})).backend.deployment  # type: ignore[union-attr]
        for _ in range(40)
    )
    assert chosen == {"v1": 30, "v2": 10}
    by_path = splitter.choose(route, facts(route, {"model": "Qwen/Qwen3-8B"}))
    assert by_path.backend is not None and by_path.backend.deployment == "qwen"
    assert by_path.rewrite_model == "qwen"  # vLLM answers to its served name only
    missing = splitter.choose(route, facts(route, {"model": "mistral"}))
    assert (missing.backend, missing.not_served) == (None, "mistral")


def test_a_model_switched_away_follows_the_weights_under_the_new_name() -> None:
    route = Route((Backend("blue", 0, ("llama-3.1",)), Backend("green", 100, ("llama-3.3",))))
    choice = Splitter().choose(route, facts(route, {"model": "llama-3.1"}))
    assert choice.backend is not None and choice.backend.deployment == "green"
    assert choice.rewrite_model == "llama-3.3"


def test_sticky_keys_come_from_the_header_or_the_user() -> None:
    backends = (Backend("a", 1, ("m",)), Backend("b", 1, ("m",)))
    by_session = Route(backends, sticky="session")
    assert facts(by_session, {"model": "m"}, session="s-1").sticky_key == "s-1"
    by_user = Route(backends, sticky="user")
    assert facts(by_user, {"model": "m", "user": "ann"}).sticky_key == "ann"
    assert facts(Route(backends), {"model": "m", "user": "ann"}).sticky_key is None
    splitter = Splitter()
    arms = {
        splitter.choose(by_user, facts(by_user, {"model": "m", "user": "ann"})).backend
        for _ in range(10)
    }
    assert len(arms) == 1


INVENTORY = """\
[fleet]
name = "t"
[[hosts]]
name = "h"
transport = "local"
simulate = { gpus = 2 }
[[deployments]]
name = "blue"
model = "m"
gpus_per_replica = 0
[[deployments]]
name = "green"
model = "m"
gpus_per_replica = 0
[[endpoints]]
name = "chat"
port = 9000
backends = [{ deployment = "blue", weight = 90 }, { deployment = "green", weight = 10 }]
"""


def test_a_route_is_kept_until_the_inventory_changes_the_endpoints_backends(
    tmp_path: Path,
) -> None:
    inventory = parse_inventory(INVENTORY, tmp_path / "fleet.toml")
    overrides = Overrides(tmp_path, inventory)
    overrides.set_route("chat", "green", by="fleetdeck route")
    assert Overrides(tmp_path, inventory).routes() == {"chat": "green"}  # another process
    changed = parse_inventory(INVENTORY.replace("weight = 10", "weight = 20"), tmp_path / "f")
    assert Overrides(tmp_path, changed).routes() == {}
    overrides.set_route("chat", None)
    assert overrides.routes() == {}
