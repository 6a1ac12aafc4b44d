"""`logs FILE DEPLOYMENT[/REPLICA]`: print (and with -f follow) a replica's log.

Followed through the same verb the console's log pane uses: when the host drops, the
command says so on stderr, reconnects with backoff and carries on from the last line
printed, so the output has no gap and no repeat.
"""

from __future__ import annotations

import argparse

from fleetdeck.core.commands.exit_codes import DONE
from fleetdeck.core.commands.reporting import say
from fleetdeck.core.intents import FleetIntents
from fleetdeck.hosts.log_follower import StreamBroken


async def cmd_logs(intents: FleetIntents, args: argparse.Namespace) -> int:
    replica_id, every = await intents.resolve_replica(args.target)
    if len(every) > 1 and "/" not in args.target:
        say(f"(showing {replica_id}; name a replica as DEPLOYMENT/REPLICA)")
    lines = intents.follow_logs(
        replica_id, tail=args.tail, follow=args.follow, on_break=_say_reconnecting
    )
    async for line in lines:
        print(line, flush=True)
    return DONE


def _say_reconnecting(broken: StreamBroken) -> None:
    say(f"(lost the log stream: {broken.reason}; resuming in {broken.retry_in_s:.1f} s)")
