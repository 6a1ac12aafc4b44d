"""Requests for the demo fleet, shaped so that its first two minutes tell a story.

The demo's hosts are this machine, so replicas are reached directly on 127.0.0.1. Each
deployment gets its own pool of workers; `concurrency(seconds)` says how many of them
send requests at a time, counted from when the deployment first had a ready replica:

- llama-8b (autoscaled, min 1, max 3) gets waves: calm, a burst of concurrent requests
  that makes its autoscaler add replicas, calm again so it scales back down; the cycle
  repeats every WAVE_PERIOD_S.
- qwen-7b gets a steady trickle; its simulator crashes after a number of requests
  (`--sim-crash-after`) and its host's supervisor restarts it.
- mixtral swells and ebbs slowly, so its sparklines move.
- phi-mini gets nothing on purpose: it goes idle, and its idle_timeout stops it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fleetdeck.core.fleet.snapshot import READY, FleetSnapshot, ReplicaSnapshot
from fleetdeck.core.intents import FleetIntents

WAVE_PERIOD_S = 120.0
AUTHENTICATED = "llama-8b"  # the deployment with an api_key in the demo inventory


def llama_wave(seconds: float) -> int:
    """Workers for llama-8b: 15 s calm, a ramp, a 25 s burst of 8, then calm till the end
    of the period. With 2 in flight per replica as the target, the burst wants 3 replicas."""
    phase = seconds % WAVE_PERIOD_S
    if phase < 15:
        return 1
    if phase < 20:
        return 4
    if phase < 45:
        return 8
    if phase < 50:
        return 3
    return 1


def mixtral_swell(seconds: float) -> int:
    """1 worker, then 2 for a while, every 40 s."""
    return 2 if seconds % 40.0 >= 25.0 else 1


def steady(seconds: float) -> int:
    return 1


@dataclass(frozen=True)
class TrafficShape:
    deployment: str
    concurrency: Callable[[float], int]
    most: int  # workers started; at most this many send at a time
    pause_s: float  # mean pause between one worker's requests


SHAPES = (
    TrafficShape("llama-8b", llama_wave, most=8, pause_s=0.1),
    TrafficShape("qwen-7b", steady, most=1, pause_s=0.6),
    TrafficShape("mixtral", mixtral_swell, most=2, pause_s=0.3),
)


class DemoTraffic:
    def __init__(self, intents: FleetIntents, api_key: str, client: httpx.AsyncClient) -> None:
        self._intents = intents
        self._api_key = api_key
        self._client = client
        self._snapshot: FleetSnapshot | None = None
        self._snapshot_at = 0.0
        self._first_ready: dict[str, float] = {}

    def _fresh_snapshot(self) -> FleetSnapshot:
        now = time.monotonic()
        if self._snapshot is None or now - self._snapshot_at >= 0.5:
            self._snapshot, self._snapshot_at = self._intents.snapshot(), now
        return self._snapshot

    def _ready(self, deployment: str) -> list[ReplicaSnapshot]:
        seen = self._fresh_snapshot().deployment(deployment)
        if seen is None:
            return []
        return [r for r in seen.replicas if r.status in READY and r.port]

    def _since_ready(self, deployment: str) -> float | None:
        """Seconds since the deployment first had a ready replica; None before that."""
        if deployment not in self._first_ready:
            if not self._ready(deployment):
                return None
            self._first_ready[deployment] = time.monotonic()
        return time.monotonic() - self._first_ready[deployment]

    async def worker(self, shape: TrafficShape, index: int) -> None:
        while True:
            since = self._since_ready(shape.deployment)
            targets = self._ready(shape.deployment)
            if since is None or index >= shape.concurrency(since) or not targets:
                await asyncio.sleep(0.5)
                continue
            await self._send(random.choice(targets))
            await asyncio.sleep(shape.pause_s * random.uniform(0.5, 1.5))

    async def _send(self, replica: ReplicaSnapshot) -> None:
        snapshot = self._fresh_snapshot()
        deployment = snapshot.deployment(replica.deployment)
        if deployment is None:
            return
        headers = (
            {"Authorization": f"Bearer {self._api_key}"}
            if replica.deployment == AUTHENTICATED
            else {}
        )
        body = {
            "model": deployment.model,
            "messages": [{"role": "user", "content": "Say hello to the demo."}],
            "max_tokens": random.randint(8, 32),
        }
        try:
            await self._client.post(
                f"http://127.0.0.1:{replica.port}/v1/chat/completions", json=body, headers=headers
            )
        except httpx.HTTPError:
            await asyncio.sleep(0.5)  # a replica going down mid-request is part of the show


async def send_demo_traffic(intents: FleetIntents, api_key: str) -> None:
    """Runs until cancelled."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        traffic = DemoTraffic(intents, api_key, client)
        workers = [
            asyncio.create_task(traffic.worker(shape, index))
            for shape in SHAPES
            for index in range(shape.most)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
