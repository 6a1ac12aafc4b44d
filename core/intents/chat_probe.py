"""`test`: one real, streamed chat completion through a ready replica, timed.

The request goes through the host's SSH port forward to the replica's 127.0.0.1 port,
with the deployment's API key from the engine's resolved secrets (never from argv).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.fleet.snapshot import READY
from fleetdeck.core.inventory import Deployment
from fleetdeck.core.policy.launch_spec import served_model_name
from fleetdeck.hosts.errors import HostError


@dataclass(frozen=True)
class ChatProbe:
    """What one test request saw: 200 with timings and text, or the error."""

    replica: str
    host: str
    status: int | None  # HTTP status; None when no response came
    total_s: float
    ttft_s: float | None
    text: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


async def send_chat_probe(
    engine: Engine, deployment: Deployment, prompt: str, max_tokens: int, timeout_s: float
) -> ChatProbe:
    snapshot = await engine.refresh()
    seen = snapshot.deployment(deployment.name)
    ready = [r for r in (seen.replicas if seen else ()) if r.status in READY]
    if not ready:
        raise FleetdeckError(
            f"{deployment.name} has no ready replica",
            "no replica answers /health yet",
            "see `fleetdeck status FILE`, or wait for it to load",
        )
    replica = ready[0]
    try:
        port = await engine.sessions[replica.host].transport.forward_port(replica.port or 0)
    except HostError as exc:
        return ChatProbe(replica.id, replica.host, None, 0.0, None, "", str(exc))
    headers = {}
    key = engine.secrets()[deployment.name].get("VLLM_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": served_model_name(deployment),
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
    }
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    started = time.monotonic()
    first_token: float | None = None
    text: list[str] = []
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        try:
            async with client.stream("POST", url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    detail = (await response.aread()).decode(errors="replace")[:300]
                    took = time.monotonic() - started
                    return ChatProbe(
                        replica.id, replica.host, response.status_code, took, None, "", detail
                    )
                async for line in response.aiter_lines():
                    piece = _delta(line)
                    if piece:
                        first_token = first_token or time.monotonic()
                        text.append(piece)
        except httpx.HTTPError as exc:
            took = time.monotonic() - started
            error = f"{type(exc).__name__}: {exc}"
            return ChatProbe(replica.id, replica.host, None, took, None, "", error)
    total = time.monotonic() - started
    ttft = (first_token - started) if first_token else None
    return ChatProbe(replica.id, replica.host, 200, total, ttft, "".join(text).strip())


def _delta(line: str) -> str:
    if not line.startswith("data: ") or line == "data: [DONE]":
        return ""
    try:
        choice = json.loads(line[6:])["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    return str(choice.get("delta", {}).get("content") or "")
