"""`fleetdeck test` (one real chat completion through a replica) and `fleetdeck export`
(a deployment's configuration, secrets as references only)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import httpx

from fleetdeck.core.commands.exit_codes import DONE, FAILED, USAGE
from fleetdeck.core.commands.export_format import export_toml
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.snapshot import ReplicaStatus
from fleetdeck.core.policy.launch_spec import served_model_name
from fleetdeck.hosts.errors import HostError


async def cmd_test(engine: Engine, args: argparse.Namespace) -> int:
    deployment = engine.inventory.deployment(args.deployment)
    if deployment is None:
        print(f"{args.file}: no deployment named {args.deployment!r}", file=sys.stderr)
        return USAGE
    snapshot = await engine.refresh()
    seen = snapshot.deployment(deployment.name)
    ready = [
        r
        for r in (seen.replicas if seen else ())
        if r.status in (ReplicaStatus.ACTIVE, ReplicaStatus.IDLE)
    ]
    if not ready:
        print(f"{deployment.name} has no ready replica: see `fleetdeck status`", file=sys.stderr)
        return FAILED
    replica = ready[0]
    try:
        port = await engine.sessions[replica.host].transport.forward_port(replica.port)
    except HostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAILED
    headers = {}
    key = engine.secrets()[deployment.name].get("VLLM_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": served_model_name(deployment),
        "messages": [{"role": "user", "content": args.prompt}],
        "max_tokens": args.max_tokens,
        "stream": True,
    }
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    started = time.monotonic()
    first_token: float | None = None
    text: list[str] = []
    async with httpx.AsyncClient(timeout=args.timeout) as client:
        try:
            async with client.stream("POST", url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    detail = (await response.aread()).decode(errors="replace")[:300]
                    print(f"{replica.id}: HTTP {response.status_code}: {detail}", file=sys.stderr)
                    return FAILED
                async for line in response.aiter_lines():
                    piece = _delta(line)
                    if piece:
                        first_token = first_token or time.monotonic()
                        text.append(piece)
        except httpx.HTTPError as exc:
            print(f"{replica.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return FAILED
    total = time.monotonic() - started
    ttft = (first_token - started) if first_token else total
    timing = f"200 in {total * 1000:.0f} ms (TTFT {ttft * 1000:.0f} ms)"
    print(f"{replica.id} on {replica.host}: {timing}")
    print("".join(text).strip())
    return DONE


def _delta(line: str) -> str:
    if not line.startswith("data: ") or line == "data: [DONE]":
        return ""
    try:
        choice = json.loads(line[6:])["choices"][0]
    except (ValueError, KeyError, IndexError):
        return ""
    return str(choice.get("delta", {}).get("content") or "")


def exported(engine: Engine, name: str) -> dict[str, Any] | None:
    deployment = engine.inventory.deployment(name)
    if deployment is None:
        return None
    # exclude_defaults: what the user wrote (or changed), as an inventory would carry it.
    data: dict[str, Any] = deployment.model_dump(mode="json", exclude_defaults=True)
    data["name"] = deployment.name
    data["model"] = deployment.model
    return data


async def cmd_export(engine: Engine, args: argparse.Namespace) -> int:
    data = exported(engine, args.deployment)
    if data is None:
        print(f"{args.file}: no deployment named {args.deployment!r}", file=sys.stderr)
        return USAGE
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        print(export_toml(data, str(engine.inventory.source)), end="")
    return DONE


HANDLERS: dict[str, Any] = {"test": cmd_test, "export": cmd_export}
