"""Requests for the demo fleet, so its status lights and counters have something to show.

The demo's hosts are this machine, so replicas are reached directly on 127.0.0.1.
phi-mini gets no traffic on purpose: it shows what an idle deployment looks like.
"""

from __future__ import annotations

import asyncio
import random

import httpx

from fleetdeck.core.fleet.snapshot import READY
from fleetdeck.core.intents import FleetIntents

BUSY_DEPLOYMENTS = ("llama-8b", "qwen-7b", "mixtral")


async def send_demo_traffic(intents: FleetIntents, api_key: str, pause_s: float = 0.4) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        while True:
            await asyncio.sleep(pause_s * random.uniform(0.5, 1.5))
            snapshot = intents.snapshot()
            targets = [
                replica
                for deployment in snapshot.deployments
                if deployment.name in BUSY_DEPLOYMENTS
                for replica in deployment.replicas
                if replica.status in READY and replica.port
            ]
            if not targets:
                continue
            replica = random.choice(targets)
            headers = (
                {"Authorization": f"Bearer {api_key}"} if replica.deployment == "llama-8b" else {}
            )
            body = {
                "model": next(
                    d.model for d in snapshot.deployments if d.name == replica.deployment
                ),
                "messages": [{"role": "user", "content": "Say hello to the demo."}],
                "max_tokens": random.randint(8, 32),
            }
            try:
                await client.post(
                    f"http://127.0.0.1:{replica.port}/v1/chat/completions",
                    json=body,
                    headers=headers,
                )
            except httpx.HTTPError:
                continue  # a replica going down mid-request is part of the show
