"""Commands that change what should run (scale, stop, start, restart), run the
controller, or read the event journal."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from fleetdeck.core.commands import render
from fleetdeck.core.commands.exit_codes import DONE, FAILED, PARTIAL, USAGE
from fleetdeck.core.control.handover import (
    controller_in_charge,
    say_handed_over,
    wait_for_controller,
)
from fleetdeck.core.control.reconcile import (
    Controller,
    converge,
    lease_for_one_shot,
    release_one_shot,
)
from fleetdeck.core.engine.engine import Engine


def _deployment_or_usage(engine: Engine, args: argparse.Namespace) -> str | None:
    name: str = args.deployment
    if engine.inventory.deployment(name) is None:
        known = ", ".join(d.name for d in engine.inventory.deployments) or "none"
        print(
            f"{args.file}: no deployment named {name!r} (known: {known})",
            file=sys.stderr,
        )
        return None
    return name


async def _converge_and_report(engine: Engine, args: argparse.Namespace) -> int:
    deployment = engine.inventory.deployment(args.deployment)
    timeout = args.timeout or (deployment.start_timeout if deployment else 900.0)
    others = await controller_in_charge(engine)
    if others:
        say_handed_over(others)
        return DONE if args.no_wait else await wait_for_controller(engine, timeout)
    engine.subscribe(lambda event: print(render.event_line(event), flush=True))
    try:
        result = await converge(
            engine,
            timeout_s=timeout,
            wait_ready=not args.no_wait,
            keep_leases=lambda: lease_for_one_shot(engine),
        )
    finally:
        await release_one_shot(engine)
    line = next((d for d in result.snapshot.deployments if d.name == args.deployment), None)
    if line is not None:
        print(f"{line.name}: {line.status.value} {line.ready}/{line.desired}")
    if not result.ok:
        print(f"not done: {result.reason}", file=sys.stderr)
        return FAILED
    return PARTIAL if engine.unreachable_hosts else DONE


async def cmd_scale(engine: Engine, args: argparse.Namespace) -> int:
    name = _deployment_or_usage(engine, args)
    if name is None:
        return USAGE
    if args.replicas < 0:
        print("replicas must be 0 or more", file=sys.stderr)
        return USAGE
    engine.set_desired(name, args.replicas, by="fleetdeck scale")
    return await _converge_and_report(engine, args)


async def cmd_stop(engine: Engine, args: argparse.Namespace) -> int:
    name = _deployment_or_usage(engine, args)
    if name is None:
        return USAGE
    engine.set_desired(name, 0, by="fleetdeck stop")
    return await _converge_and_report(engine, args)


async def cmd_start(engine: Engine, args: argparse.Namespace) -> int:
    """Back to the inventory's count (or autoscale.min), clearing a stop or scale."""
    name = _deployment_or_usage(engine, args)
    if name is None:
        return USAGE
    engine.start_intent(name, by="fleetdeck start")
    await _forget_failed(engine, name)
    return await _converge_and_report(engine, args)


async def cmd_restart(engine: Engine, args: argparse.Namespace) -> int:
    """Replace every replica, one at a time (rolling) or all at once (recreate)."""
    name = _deployment_or_usage(engine, args)
    if name is None:
        return USAGE
    await _forget_failed(engine, name)
    engine.overrides.bump_restart(name, str(time.time()))
    engine.emit("deployment.restart", name, "restart requested: every replica is replaced")
    return await _converge_and_report(engine, args)


async def _forget_failed(engine: Engine, deployment: str) -> None:
    """Replicas given up on stay (with their log) until the user acts: now they go."""
    from fleetdeck.core.policy.plan import Plan, Stop

    await engine.refresh()
    stops = tuple(
        Stop(r.deployment, r.replica, host, "cleared by the user")
        for host, session in engine.sessions.items()
        for r in (session.observation.replicas if session.observation else ())
        if r.deployment == deployment and r.failed_reason is not None
    )
    if stops:
        await engine.apply(Plan(stops, (), (), ()))


async def cmd_run(engine: Engine, args: argparse.Namespace) -> int:
    """The engine's loops with no screen, events as JSON lines, until SIGINT/SIGTERM."""
    engine.subscribe(lambda event: print(json.dumps(event.model_dump(mode="json")), flush=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    controller = Controller(engine, interval_s=args.interval)
    engine.emit("controller.started", controller.holder, f"reconciling every {args.interval}s")
    await controller.run(stop)
    engine.emit("controller.stopped", controller.holder, "released the host leases")
    return DONE


async def cmd_events(engine: Engine, args: argparse.Namespace) -> int:
    events = list(engine.journal.read())
    if args.tail:
        events = events[-args.tail :]
    for event in events:
        if args.json:
            print(json.dumps(event.model_dump(mode="json")))
        else:
            print(render.event_line(event))
    if not events and not args.json:
        print(f"no events yet (journal: {engine.journal.path})", file=sys.stderr)
    return DONE


HANDLERS: dict[str, Any] = {
    "scale": cmd_scale,
    "stop": cmd_stop,
    "start": cmd_start,
    "restart": cmd_restart,
    "run": cmd_run,
    "events": cmd_events,
}
