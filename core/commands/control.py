"""`scale`, `stop`, `start`, `restart`, `forget-failed`: change what should run, then
(unless --no-wait) wait until it runs; `route`: switch an endpoint's traffic; `run`: the
controller with no screen."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from fleetdeck.core.commands import render
from fleetdeck.core.commands.exit_codes import DONE, FAILED
from fleetdeck.core.commands.reporting import exit_code, say, warn_unreachable
from fleetdeck.core.errors import UsageError
from fleetdeck.core.export.server import metrics_setting, serving_metrics
from fleetdeck.core.intents import FleetIntents, IntentOutcome
from fleetdeck.core.recording.recorder import recorded


async def _settle_and_report(
    intents: FleetIntents, args: argparse.Namespace, outcome: IntentOutcome
) -> int:
    deployment = intents.inventory.deployment(args.deployment)
    timeout = args.timeout or (deployment.start_timeout if deployment else 900.0)
    if outcome.handed_over:
        say(render.handed_over(outcome.handed_over_to))
        if args.no_wait:
            return exit_code(intents)  # 3 when a host did not answer
        say(outcome.waiting_for(timeout))
    result = await intents.settle(outcome, timeout_s=timeout, wait_ready=not args.no_wait)
    line = result.snapshot.deployment(args.deployment)
    if line is not None:
        print(f"{line.name}: {line.status.value} {line.ready}/{line.desired}")
    if not outcome.ok or not result.ok:
        reason = outcome.applied.failed[0][1] if not outcome.ok else result.reason
        say(f"not done: {reason}")
        return FAILED
    return exit_code(intents)


def _verb(
    act: Callable[[FleetIntents, argparse.Namespace], Awaitable[IntentOutcome]],
) -> Callable[[FleetIntents, argparse.Namespace], Awaitable[int]]:
    """A command that runs one intent verb, prints events as they come, and settles."""

    async def command(intents: FleetIntents, args: argparse.Namespace) -> int:
        intents.subscribe(lambda event: print(render.event_line(event), flush=True))
        outcome = await act(intents, args)
        return await _settle_and_report(intents, args, outcome)

    return command


cmd_scale = _verb(lambda intents, args: intents.scale(args.deployment, args.replicas))
cmd_stop = _verb(lambda intents, args: intents.stop(args.deployment))
cmd_start = _verb(lambda intents, args: intents.start(args.deployment))
cmd_restart = _verb(lambda intents, args: intents.restart(args.deployment))


async def cmd_route(intents: FleetIntents, args: argparse.Namespace) -> int:
    """Record the switch; the controller serving the endpoint takes it on its next round."""
    await intents.route(args.endpoint, args.to)
    print(f"{args.endpoint}: all traffic to {args.to}")
    served = next((e for e in intents.snapshot().endpoints if e.name == args.endpoint), None)
    if served is None:
        say(
            f"no console or `fleetdeck run` on this machine serves {args.endpoint} now; it"
            " starts with this route"
        )
    else:
        say(f"the controller serving {served.url} switches on its next round (about 1 s)")
    return DONE


async def cmd_forget_failed(intents: FleetIntents, args: argparse.Namespace) -> int:
    intents.subscribe(lambda event: print(render.event_line(event), flush=True))
    outcome = await intents.forget_failed(args.deployment)
    if not outcome.done and not outcome.failed:
        print(f"{args.deployment}: no replica was given up on")
    return exit_code(intents, not outcome.failed)


async def cmd_run(intents: FleetIntents, args: argparse.Namespace) -> int:
    """The engine's loops with no screen, events as JSON lines, until SIGINT/SIGTERM."""
    # Checked before anything runs: a bad address or a port in use is a usage error.
    metrics = metrics_setting(
        args.metrics, intents.inventory.fleet.metrics_address, intents.inventory.source
    )
    intents.subscribe(lambda event: print(json.dumps(event.model_dump(mode="json")), flush=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(serving_metrics(intents, metrics))
        if server is not None:
            say(f"serving Prometheus metrics at {server.url} (from {server.setting.origin})")
        if args.record is not None:
            record = Path(args.record)
            await stack.enter_async_context(
                recorded(intents, record, max_bytes=args.record_max_size)
            )
        await intents.run_controller(stop, interval_s=args.interval)
    return DONE


async def cmd_events(intents: FleetIntents, args: argparse.Namespace) -> int:
    # One observation of every host first: what their supervisors recorded while no
    # fleetdeck process watched (exits, restarts) is merged into the journal.
    await intents.refresh()
    deployment: str | None = args.deployment
    events = await intents.event_history(deployment, last=args.tail)
    if not events and deployment is not None and intents.inventory.deployment(deployment) is None:
        known = ", ".join(d.name for d in intents.inventory.deployments) or "none"
        raise UsageError(
            f"{intents.inventory.source}: no deployment named {deployment!r}",
            f"known: {known}; the journal has no events of it either",
            "nothing was read",
        )
    for event in events:
        if args.json:
            print(json.dumps(event.model_dump(mode="json")))
        else:
            print(render.event_line(event))
    if not events and not args.json:
        of = f" of {deployment}" if deployment is not None else ""
        say(f"no events{of} yet (journal: {intents.journal_path})")
    warn_unreachable(intents)  # their history since they were last observed is missing
    return exit_code(intents)
