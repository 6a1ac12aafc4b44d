"""[[endpoints]] as the loader reads them: defaults, and a full table."""

from __future__ import annotations

from pathlib import Path

from fleetdeck.core.inventory import parse_inventory

BASE = """\
[fleet]
name = "t"
[[hosts]]
name = "h"
transport = "local"
simulate = { gpus = 2 }
[[deployments]]
name = "llama-v1"
model = "m"
gpus_per_replica = 0
[[deployments]]
name = "llama-v2"
model = "m"
gpus_per_replica = 0
[[deployments]]
name = "llama-v3"
model = "m3"
gpus_per_replica = 0
"""


def test_a_full_endpoint_table_is_read() -> None:
    text = (
        BASE
        + """
[[endpoints]]
name = "chat"
port = 9000
api_key = { env = "CHAT_KEY" }
policy = "least_outstanding"
backends = [{ deployment = "llama-v1", weight = 90 }, { deployment = "llama-v2", weight = 10 }]
shadow = { deployment = "llama-v3", fraction = 0.2 }
sticky = "user"
canary = { step = 10, interval = "5m", max_error_rate = 0.01, max_p95_ratio = 1.2 }
"""
    )
    inventory = parse_inventory(text, Path("/tmp/fleet.toml"))
    (endpoint,) = inventory.endpoints
    assert inventory.endpoint("chat") is endpoint
    assert [(b.deployment, b.weight) for b in endpoint.backends] == [
        ("llama-v1", 90.0),
        ("llama-v2", 10.0),
    ]
    assert endpoint.shadow is not None and endpoint.shadow.fraction == 0.2
    assert endpoint.canary is not None and endpoint.canary.interval == 300.0
    assert (endpoint.policy, endpoint.sticky, endpoint.engine) == (
        "least_outstanding",
        "user",
        "builtin",
    )
    assert endpoint.api_key is not None


def test_defaults() -> None:
    text = (
        BASE + '[[endpoints]]\nname = "e"\nport = 9001\nbackends = [{ deployment = "llama-v3" }]\n'
    )
    (endpoint,) = parse_inventory(text, Path("/tmp/fleet.toml")).endpoints
    assert endpoint.backends[0].weight == 1.0
    assert (endpoint.policy, endpoint.sticky, endpoint.engine) == ("round_robin", "none", "builtin")
    assert endpoint.shadow is None and endpoint.canary is None and endpoint.api_key is None
