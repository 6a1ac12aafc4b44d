"""The bodies of the CLI's commands: each loads the inventory, drives the engine, renders."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fleetdeck.core.commands import render
from fleetdeck.core.commands.exit_codes import DONE, FAILED, PARTIAL, USAGE
from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.fleet.snapshot import FleetSnapshot
from fleetdeck.core.inventory import Inventory, inventory_json_schema, load_inventory


async def run(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "schema":
        print(json.dumps(inventory_json_schema(), indent=2))
        return DONE
    if command == "demo":
        from fleetdeck.core.demo.demo_fleet import run_demo

        return await run_demo(headless=args.headless, seconds=args.seconds)
    inventory = load_inventory(args.file)
    if command == "tui":
        return await open_tui(inventory)
    if command == "trust":  # touches known_hosts only, never the fleet
        from fleetdeck.core.commands.trust import trust

        return await trust(inventory, args)
    engine = Engine(inventory)
    try:
        handler = HANDLERS.get(command) or _control_handlers()[command]
        return await handler(engine, args)
    finally:
        await engine.close()


async def open_tui(inventory: Inventory) -> int:
    from fleetdeck.core.control.reconcile import run_with_controller
    from fleetdeck.core.engine.console_backend import EngineConsole
    from fleetdeck.tui.app import FleetdeckApp  # the only place core reaches the UI, and lazily
    from fleetdeck.tui.deployment_access import client_hints

    engine = Engine(inventory)
    title = f"fleetdeck — {inventory.fleet.name}"
    app = FleetdeckApp(EngineConsole(engine), title=title, hints=client_hints(inventory))
    try:
        # The console runs the same loops as `fleetdeck run` while it is open (under the lease).
        await run_with_controller(engine, app.run_async())
    finally:
        await engine.close()
    return DONE


def _exit_for(engine: Engine, ok: bool = True) -> int:
    if not ok:
        return FAILED
    return PARTIAL if engine.unreachable_hosts else DONE


def _warn_unreachable(engine: Engine) -> None:
    for name in engine.unreachable_hosts:
        error = engine.sessions[name].error
        print(f"warning: {error or name + ' is unreachable'}", file=sys.stderr)


async def cmd_status(engine: Engine, args: argparse.Namespace) -> int:
    if args.watch:
        async for snapshot in engine.snapshots(args.interval):
            if args.json:
                print(json.dumps(snapshot.model_dump(mode="json")), flush=True)
            else:
                print(render.status_table(snapshot), flush=True)
        return DONE
    snapshot = await engine.refresh()
    if args.json:
        print(json.dumps(snapshot.model_dump(mode="json"), indent=2))
    else:
        print(render.status_table(snapshot))
    _warn_unreachable(engine)
    return _exit_for(engine)


async def cmd_plan(engine: Engine, args: argparse.Namespace) -> int:
    await engine.refresh()
    plan = engine.plan()
    if args.json:
        print(json.dumps(render.plan_json(plan), indent=2))
    else:
        print(render.plan_text(engine.inventory.fleet.name, plan))
    _warn_unreachable(engine)
    return _exit_for(engine)


async def cmd_apply(engine: Engine, args: argparse.Namespace) -> int:
    from fleetdeck.core.control.handover import (
        controller_in_charge,
        say_handed_over,
        wait_for_controller,
    )
    from fleetdeck.core.control.reconcile import release_one_shot

    fleet = engine.inventory.fleet.name
    timeout = args.timeout or max(
        (d.start_timeout for d in engine.inventory.deployments), default=900.0
    )
    others = await controller_in_charge(engine)
    if others:
        say_handed_over(others)
        return await wait_for_controller(engine, timeout) if args.wait else DONE
    try:
        return await _apply_holding_leases(engine, args, fleet, timeout)
    finally:
        await release_one_shot(engine)


async def _apply_holding_leases(
    engine: Engine, args: argparse.Namespace, fleet: str, timeout: float
) -> int:
    from fleetdeck.core.control.reconcile import converge, lease_for_one_shot

    if not args.json:
        engine.subscribe(lambda event: print(render.event_line(event), flush=True))
    result = await converge(
        engine,
        timeout_s=timeout,
        wait_ready=args.wait,
        on_plan=None if args.json else lambda plan: print(render.plan_text(fleet, plan)),
        on_snapshot=None if args.json or not args.wait else _progress_printer(),
        keep_leases=lambda: lease_for_one_shot(engine),
    )
    if not result.plans and not args.json:
        print(render.plan_text(fleet, engine.plan()))
    if args.json:
        document: dict[str, Any] = {
            "ok": result.ok,
            "reason": result.reason,
            "plan": render.plan_json(result.plans[0])
            if result.plans
            else render.plan_json(engine.plan()),
            "steps": [render.plan_json(p) for p in result.plans],
            "status": result.snapshot.model_dump(mode="json"),
            "events": [e.model_dump(mode="json") for e in engine.events],
        }
        print(json.dumps(document, indent=2))
    else:
        if args.wait or not result.ok:
            print(render.status_table(result.snapshot))
        if not result.ok:
            print(f"apply did not finish: {result.reason}", file=sys.stderr)
            print(render.not_ready_reasons(result.snapshot), file=sys.stderr)
    _warn_unreachable(engine)
    return _exit_for(engine, result.ok)


def _progress_printer() -> Any:
    last: list[str] = []

    def show(snapshot: FleetSnapshot) -> None:
        line = render.progress_line(snapshot)
        if not last or last[0] != line:
            print(line, flush=True)
            last[:] = [line]

    return show


async def cmd_down(engine: Engine, args: argparse.Namespace) -> int:
    if args.deployment and not any(d.name == args.deployment for d in engine.inventory.deployments):
        known = ", ".join(d.name for d in engine.inventory.deployments)
        print(
            f"{args.file}: no deployment named {args.deployment!r} (known: {known})",
            file=sys.stderr,
        )
        return USAGE
    from fleetdeck.core.control.handover import controller_in_charge
    from fleetdeck.core.control.reconcile import release_one_shot

    others = await controller_in_charge(engine)
    if others:
        print(
            "error: a controller is in charge of " + ", ".join(others) + " and would start the"
            " replicas again\n  next: stop `fleetdeck run` (or close the console) first",
            file=sys.stderr,
        )
        return FAILED
    if not args.json:
        engine.subscribe(lambda event: print(render.event_line(event), flush=True))
    try:
        outcome = await engine.down(args.deployment)
    finally:
        await release_one_shot(engine)
    if args.json:
        stopped = [f"{a.deployment}/{a.replica}" for a in outcome.done]
        failed = [{"replica": f"{a.deployment}/{a.replica}", "error": e} for a, e in outcome.failed]
        print(json.dumps({"stopped": stopped, "failed": failed}, indent=2))
    elif not outcome.done and not outcome.failed:
        print("nothing to stop")
    _warn_unreachable(engine)
    return _exit_for(engine, not outcome.failed)


async def cmd_gpus(engine: Engine, args: argparse.Namespace) -> int:
    snapshot = await engine.refresh()
    if args.json:
        print(json.dumps([h.model_dump(mode="json") for h in snapshot.hosts], indent=2))
    else:
        print(render.gpu_table(snapshot))
    _warn_unreachable(engine)
    return _exit_for(engine)


async def cmd_check(engine: Engine, args: argparse.Namespace) -> int:
    from fleetdeck.core.commands.host_check import check_hosts

    results = await check_hosts(engine)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    else:
        print(render.check_table(engine.inventory.source, results))
    if all(r.ok for r in results):
        return DONE
    return PARTIAL if any(r.ok for r in results) else FAILED


async def cmd_logs(engine: Engine, args: argparse.Namespace) -> int:
    from fleetdeck.core.commands.logs import show_logs

    return await show_logs(engine, args.target, tail=args.tail, follow=args.follow)


def _control_handlers() -> dict[str, Any]:
    from fleetdeck.core.commands import client as client_commands
    from fleetdeck.core.commands import control as control_commands

    return {**control_commands.HANDLERS, **client_commands.HANDLERS}


HANDLERS = {
    "status": cmd_status,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "down": cmd_down,
    "gpus": cmd_gpus,
    "check": cmd_check,
    "logs": cmd_logs,
}
