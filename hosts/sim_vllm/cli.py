"""`fleetdeck-sim-vllm serve MODEL [vLLM options] [--sim-* options]`: a stand-in for vLLM.

A real process on a real port that speaks vLLM's HTTP API, writes vLLM's log lines and
metric names, and fails the way vLLM fails; the demo and the fast tests run it where a
real fleet runs `vllm serve`. Standard library only, so it starts in a blink and runs
on any host with a python3.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from fleetdeck.hosts.sim_vllm.log_writer import STDERR, LogWriter
from fleetdeck.hosts.sim_vllm.options import TOP_USAGE, UsageError, parse_serve_args
from fleetdeck.hosts.sim_vllm.serve import run_serve

HELP = """usage: vllm serve [model_tag] [options]

Simulated vLLM OpenAI-compatible server (fleetdeck). vLLM's own options are accepted;
--host, --port, --served-model-name, --api-key (or VLLM_API_KEY), --max-model-len,
--max-num-seqs and --gpu-memory-utilization are used, the others ignored.

simulator options:
  --sim-load-seconds S        time from start to ready (default 3)
  --sim-ttft-ms MS            time to first token (default 50)
  --sim-token-latency-ms MS   time per further token (default 20)
  --sim-max-num-seqs N        requests running at once; more wait (default 256)
  --sim-kv-cache-tokens N     KV-cache size in tokens (default 16384)
  --sim-crash-after N         the engine core dies after N completed requests
  --sim-fail-at-start KIND    port-in-use | out-of-memory | bad-argument | model-not-found
  --sim-log-interval S        period of the throughput stats line (default 10; 0: never)
  --sim-orphan-exit-seconds S an orphaned EngineCore exits after S (default 600)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    log = LogWriter()
    if any(arg in ("-h", "--help") for arg in args[:2]):
        sys.stdout.write(HELP)
        return 0
    try:
        if args and args[0] == "serve":
            args = args[1:]
        elif args and not args[0].startswith("-"):
            # `python -m vllm.entrypoints.openai.api_server --model M` style needs no subcommand.
            raise UsageError(
                f"argument subparser: invalid choice: {args[0]!r} (choose from 'chat', "
                "'complete', 'serve', 'bench', 'collect-env', 'run-batch')",
                TOP_USAGE,
                "vllm",
            )
        options = parse_serve_args(args)
    except UsageError as error:
        log.lines(error.lines(), STDERR)
        return 2
    return run_serve(options, log)


if __name__ == "__main__":  # `python -m hosts.sim_vllm.cli serve ...` (core/demo.py's fallback)
    raise SystemExit(main())
