"""`test` (one real chat completion through a replica) and `export` (a deployment's
configuration, secrets as references only)."""

from __future__ import annotations

import argparse
import json

from fleetdeck.core.commands.exit_codes import DONE, FAILED
from fleetdeck.core.commands.reporting import say
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory.toml_layout import export_toml


async def cmd_test(intents: FleetIntents, args: argparse.Namespace) -> int:
    probe = await intents.test_request(
        args.deployment, prompt=args.prompt, max_tokens=args.max_tokens, timeout_s=args.timeout
    )
    if not probe.ok:
        status = f"HTTP {probe.status}: " if probe.status else ""
        say(f"{probe.replica}: {status}{probe.error}")
        return FAILED
    ttft = probe.ttft_s if probe.ttft_s is not None else probe.total_s
    print(
        f"{probe.replica} on {probe.host}: 200 in {probe.total_s * 1000:.0f} ms "
        f"(TTFT {ttft * 1000:.0f} ms)"
    )
    print(probe.text)
    return DONE


async def cmd_export(intents: FleetIntents, args: argparse.Namespace) -> int:
    data = intents.export(args.deployment)
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        print(export_toml(data, str(intents.inventory.source)), end="")
    return DONE
