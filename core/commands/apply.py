"""`plan`, `apply` and `down`: the fleet against its inventory."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from fleetdeck.core.commands import render
from fleetdeck.core.commands.reporting import exit_code, say, warn_unreachable
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.intents import FleetIntents


async def cmd_plan(intents: FleetIntents, args: argparse.Namespace) -> int:
    await intents.refresh()
    plan = intents.plan()
    if args.json:
        print(json.dumps(render.plan_json(plan), indent=2))
    else:
        print(render.plan_text(intents.inventory.fleet.name, plan))
        say_overrides(intents)
    warn_unreachable(intents)
    return exit_code(intents)


def say_overrides(intents: FleetIntents) -> None:
    """Scale and stop outlive the command that set them: say which ones this plan keeps."""
    kept = intents.describe_overrides()
    if kept:
        say("keeping overrides over the inventory:\n  " + "\n  ".join(kept))
        say("  (`fleetdeck start FILE DEPLOYMENT` returns one to the inventory's count; "
            "`fleetdeck down FILE` drops them all)")  # fmt: skip


async def cmd_apply(intents: FleetIntents, args: argparse.Namespace) -> int:
    fleet = intents.inventory.fleet.name
    timeout = args.timeout or max(
        (d.start_timeout for d in intents.inventory.deployments), default=900.0
    )
    if not args.json:
        intents.subscribe(lambda event: print(render.event_line(event), flush=True))
    await intents.refresh()
    first_plan = intents.plan()
    if not args.json:
        say_overrides(intents)
    if not args.json and first_plan.actions:
        print(render.plan_text(fleet, first_plan))
    outcome = await intents.apply()
    if outcome.handed_over:
        say(render.handed_over(outcome.handed_over_to))
        if not args.wait:
            return exit_code(intents)
        say(outcome.waiting_for(timeout))
    result = await intents.settle(
        outcome,
        timeout_s=timeout,
        wait_ready=args.wait,
        on_plan=None if args.json else lambda plan: print(render.plan_text(fleet, plan)),
        on_snapshot=None if args.json or not args.wait else _progress_printer(),
    )
    ok = outcome.ok and result.ok
    reason = result.reason if outcome.ok else outcome.applied.failed[0][1]
    if args.json:
        document: dict[str, Any] = {
            "ok": ok,
            "reason": reason,
            "plan": render.plan_json(first_plan),
            "steps": [render.plan_json(first_plan)] * bool(first_plan.actions)
            + [render.plan_json(p) for p in result.plans],
            "status": result.snapshot.model_dump(mode="json"),
            "events": [e.model_dump(mode="json") for e in intents.recent_events()],
        }
        print(json.dumps(document, indent=2))
    else:
        if not first_plan.actions and not result.plans:
            print(render.plan_text(fleet, intents.plan()))
        if args.wait or not ok:
            print(render.status_table(result.snapshot))
        if not ok:
            say(f"apply did not finish: {reason}")
            say(render.not_ready_reasons(result.snapshot))
    warn_unreachable(intents)
    return exit_code(intents, ok)


def _progress_printer() -> Callable[[FleetSnapshot], None]:
    last: list[str] = []

    def show(snapshot: FleetSnapshot) -> None:
        line = render.progress_line(snapshot)
        if not last or last[0] != line:
            print(line, flush=True)
            last[:] = [line]

    return show


async def cmd_down(intents: FleetIntents, args: argparse.Namespace) -> int:
    if not args.json:
        intents.subscribe(lambda event: print(render.event_line(event), flush=True))
    outcome = await intents.down(args.deployment)
    if args.json:
        stopped = [f"{a.deployment}/{a.replica}" for a in outcome.done]
        failed = [{"replica": f"{a.deployment}/{a.replica}", "error": e} for a, e in outcome.failed]
        print(json.dumps({"stopped": stopped, "failed": failed}, indent=2))
    elif not outcome.done and not outcome.failed:
        print("nothing to stop", file=sys.stdout)
    warn_unreachable(intents)
    return exit_code(intents, not outcome.failed)
