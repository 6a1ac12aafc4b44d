"""`status`, `gpus` and `check`: what the fleet is doing, as a table or one JSON document."""

from __future__ import annotations

import argparse
import json
import sys

from fleetdeck.core.commands import render
from fleetdeck.core.commands.exit_codes import DONE, FAILED, PARTIAL
from fleetdeck.core.commands.reporting import exit_code, warn_unreachable
from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.core.intents import FleetIntents


async def cmd_status(intents: FleetIntents, args: argparse.Namespace) -> int:
    if args.watch:
        async for snapshot in intents.snapshots(args.interval):
            if args.json:
                print(json.dumps(snapshot.model_dump(mode="json")), flush=True)
            else:
                print(render.status_table(snapshot), flush=True)
        return DONE
    sample = args.sample if args.sample is not None else (0.0 if args.json else 1.0)
    snapshot = await intents.sampled_snapshot(sample)
    if args.json:
        print(json.dumps(snapshot.model_dump(mode="json"), indent=2))
    else:
        print(render.status_table(snapshot))
    warn_unreachable(intents)
    # A failed deployment (nothing ready, a replica failed or given up on) is a failed
    # operation for a script that asks `fleetdeck status`: exit 1, and say which.
    failed = [d.name for d in snapshot.deployments if d.status == DeploymentStatus.FAILED]
    for name in failed:
        print(f"error: deployment {name} has failed; its replicas say why", file=sys.stderr)
    # A host whose state dir is full cannot record its replicas' exits and logs: as much
    # a failure for a script as a failed deployment.
    full = [h for h in snapshot.hosts if h.disk_full]
    for host in full:
        print(f"error: host {host.name}: disk full: {host.disk_full}", file=sys.stderr)
    return FAILED if failed or full else exit_code(intents)


async def cmd_gpus(intents: FleetIntents, args: argparse.Namespace) -> int:
    snapshot = await intents.refresh()
    if args.json:
        print(json.dumps([h.model_dump(mode="json") for h in snapshot.hosts], indent=2))
    else:
        print(render.gpu_table(snapshot))
    warn_unreachable(intents)
    return exit_code(intents)


async def cmd_check(intents: FleetIntents, args: argparse.Namespace) -> int:
    results = await intents.check_hosts()
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    else:
        print(render.check_table(intents.inventory.source, results))
    if all(r.ok for r in results):
        return DONE
    return PARTIAL if any(r.ok for r in results) else FAILED
