"""How a client reaches a deployment: its API base, its key variable and a test command.

Pure, so the wording is tested as plain strings. The test command never holds the key
itself, only the name of the environment variable the inventory reads it from, so it
can be pasted into a terminal, a ticket or a chat without leaking anything.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from fleetdeck.core.fleet.snapshot import READY, DeploymentSnapshot
from fleetdeck.core.inventory import Inventory
from fleetdeck.core.policy.launch_spec import served_model_name

DEFAULT_KEY_VARIABLE = "VLLM_API_KEY"
"""Named in the test command when the inventory does not say where the key comes from."""


@dataclass(frozen=True)
class ClientHint:
    """What the inventory knows about calling a deployment that its snapshot does not carry."""

    served_model: str
    """The model name clients send (`vllm.served_model_name`, else `model`)."""
    has_api_key: bool
    key_variable: str | None = None
    """Environment variable the key is read from; None when it comes from a file."""
    key_file: str | None = None
    """File the key is read from (as the inventory wrote it); None when from a variable."""


ClientHints = Mapping[str, ClientHint]


def client_hints(inventory: Inventory) -> dict[str, ClientHint]:
    return {
        d.name: ClientHint(
            served_model=served_model_name(d),
            has_api_key=d.api_key is not None,
            key_variable=d.api_key.env if d.api_key is not None else None,
            key_file=str(d.api_key.file) if d.api_key and d.api_key.file else None,
        )
        for d in inventory.deployments
    }


def api_base(deployment: DeploymentSnapshot) -> str | None:
    """The deployment's endpoint, else the first ready replica's (reached on loopback)."""
    if deployment.endpoint:
        return deployment.endpoint
    for replica in deployment.replicas:
        if replica.status in READY and replica.port:
            return f"http://127.0.0.1:{replica.port}/v1"
    return None


def endpoint_source(deployment: DeploymentSnapshot) -> str:
    """Who answers at `api_base`: the controller's balanced endpoint, or one replica."""
    if deployment.endpoint:
        return "the controller's endpoint, balanced over the ready replicas"
    for replica in deployment.replicas:
        if replica.status in READY and replica.port:
            return f"{replica.id} directly: no controller serves an endpoint yet"
    return ""


def key_variable(deployment: DeploymentSnapshot, hint: ClientHint | None) -> str | None:
    """The variable a client reads the key from; None when the deployment needs no key."""
    if hint is None:  # nothing known: a header naming the usual variable does no harm
        return DEFAULT_KEY_VARIABLE
    if not hint.has_api_key and deployment.api_key_masked is None:
        return None
    return hint.key_variable or DEFAULT_KEY_VARIABLE


def curl_test_command(base: str, model: str, variable: str | None) -> str:
    """A `curl` for one chat completion; the key stays in `$variable`, expanded by the shell."""
    message = {"role": "user", "content": "hello"}
    body = json.dumps(
        {"model": model, "messages": [message], "max_tokens": 16}, separators=(",", ":")
    )
    words = ["curl", "-s", shlex.quote(f"{base}/chat/completions")]
    if variable is not None:
        # Double quotes, not shlex: the shell has to expand the variable.
        words += ["-H", f'"Authorization: Bearer ${variable}"']
    words += ["-H", shlex.quote("Content-Type: application/json"), "-d", shlex.quote(body)]
    return " ".join(words)


def curl_command_for(deployment: DeploymentSnapshot, hint: ClientHint | None) -> str | None:
    """The test command for a deployment; None until one of its replicas is ready."""
    base = api_base(deployment)
    if base is None:
        return None
    model = hint.served_model if hint is not None else deployment.model
    return curl_test_command(base, model, key_variable(deployment, hint))
