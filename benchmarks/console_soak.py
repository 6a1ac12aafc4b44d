"""The console's CPU and memory over a long watch: 20 hosts, 80 replicas, a snapshot a second.

The console runs in a child process: FleetdeckApp under `App.run(headless=True)`, size
160x48, handed a backend (benchmarks/_console_fleet.py) that builds and publishes a new
FleetSnapshot every second: 20 deployments x 4 replicas, one replica per GPU on 20
hosts x 4 GPUs, every rate, latency, temperature, utilisation and 120-point sparkline
moving each tick. Headless, Textual computes every frame but skips turning it into
terminal text; the child does that step too (FrameClock), so what is measured is the
console's work less the write() to a terminal. Building the snapshot (the engine's job
in the real console, which runs in the same process) is counted too; its median is
printed at the end.

The parent samples the child every 10 s: CPU time (utime + stime, /proc/PID/stat) and
VmRSS (/proc/PID/status). After a warm-up (90 s), it reports the CPU % of one core per
interval, its mean, and RSS at the start of the measured period against the end.
Goals: under 5% of one core on average; RSS flat within 10%.

Why 90 s of warm-up: the tables' render caches are bounded LRUs (KeyedTable's cell
cache, DataTable's row and line caches) that fill with a snapshot's worth of entries
each second and are full after about 70 s (tracemalloc: the growth before that is
all theirs); from then on a steady RSS means nothing leaks. The RSS at 30 s is printed
too, so the fill itself is not hidden.

    .venv/bin/python benchmarks/console_soak.py [--minutes 10] [--warmup-s 90]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CPU_GOAL_PCT = 5.0
RSS_GOAL_PCT = 10.0
HOSTS, GPUS, DEPLOYMENTS, REPLICAS = 20, 4, 20, 4
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def child(seconds: float) -> None:
    """The console, watching the synthetic fleet until `seconds` have passed."""
    # Imported here, so that the sampling parent stays small and idle.
    from _console_fleet import FrameClock, PushBackend, build_fleet

    from fleetdeck.core.fleet.snapshot import FleetSnapshot
    from fleetdeck.tui.app import FleetdeckApp

    def make(tick: int) -> FleetSnapshot:
        return build_fleet(DEPLOYMENTS, HOSTS, GPUS, tick=tick, replicas=lambda d: REPLICAS)

    backend = PushBackend(make, every_s=1.0)
    app = FleetdeckApp(backend, title="fleetdeck — soak")
    clock: list[FrameClock] = []

    def ready() -> None:
        clock.append(FrameClock(app))
        app.set_timer(seconds, app.exit)

    app.call_later(ready)
    app.run(headless=True, size=(160, 48))
    frames = clock[0].frames if clock else []
    built = statistics.median(backend.built_s) * 1e3 if backend.built_s else float("nan")
    print(
        f"child: {len(backend.built_s)} snapshots, {len(frames)} frames, "
        f"{clock[0].chars if clock else 0} characters of terminal output; "
        f"building one snapshot took {built:.1f} ms (median)",
        flush=True,
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured period")
    parser.add_argument("--warmup-s", type=float, default=90.0)
    parser.add_argument("--every-s", type=float, default=10.0, help="sampling period")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return

    total = args.warmup_s + args.minutes * 60
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(total + 5)],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    print(
        f"console pid {proc.pid}: {HOSTS} hosts x {GPUS} GPUs, {DEPLOYMENTS} deployments x "
        f"{REPLICAS} replicas, a new snapshot every 1 s; warm-up {args.warmup_s:.0f} s, "
        f"then {args.minutes:g} min sampled every {args.every_s:g} s"
    )
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs, shared: numbers are noisy")
    print()
    print(f"{'t (s)':>7} {'CPU s':>8} {'CPU % (interval)':>17} {'RSS MiB':>9}")
    print("-" * 45)
    started = time.monotonic()
    samples: list[tuple[float, float, float]] = []  # (t, cpu s, rss MiB)
    # When to sample: at 0, at the end of the warm-up, then every --every-s to the end.
    steps = int(round(args.minutes * 60 / args.every_s))
    early = [30.0] if args.warmup_s > 30.0 else []
    schedule = [0.0, *early] + [args.warmup_s + i * args.every_s for i in range(steps + 1)]
    try:
        for at in schedule:
            time.sleep(max(0.0, started + at - time.monotonic()))
            t = time.monotonic() - started
            if proc.poll() is not None:
                raise SystemExit(f"the console exited early ({proc.returncode})")
            sample = (t, cpu_seconds(proc.pid), rss_mib(proc.pid))
            interval = ""
            if samples:
                (t0, c0, _), (t1, c1, _) = samples[-1], sample
                interval = f"{100 * (c1 - c0) / (t1 - t0):.2f}"
            samples.append(sample)
            mark = " (warm-up)" if at < args.warmup_s else ""
            print(f"{t:>7.0f} {sample[1]:>8.2f} {interval:>17} {sample[2]:>9.1f}{mark}", flush=True)
    finally:
        proc.wait(timeout=60)

    measured = samples[1 + len(early) :]
    first, last = measured[0], measured[-1]
    rates = [
        100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(measured, measured[1:], strict=False)
    ]
    mean_cpu = 100 * (last[1] - first[1]) / (last[0] - first[0])
    rss_change = 100 * (last[2] - first[2]) / first[2]
    print()
    print(f"{'summary, after warm-up':34} {'value':>12} {'goal':>12} {'met':>5}")
    print("-" * 66)
    print(
        f"{'mean CPU, % of one core':34} {mean_cpu:>12.2f} {'< 5':>12} "
        f"{'yes' if mean_cpu < CPU_GOAL_PCT else 'no':>5}"
    )
    print(
        f"{'  median / max of intervals':34} {statistics.median(rates):>6.2f} / {max(rates):<5.2f}"
    )
    print(f"{'RSS at start, MiB':34} {first[2]:>12.1f}")
    print(f"{'RSS at end, MiB':34} {last[2]:>12.1f}")
    print(
        f"{'RSS change, %':34} {rss_change:>+12.1f} {'within ±10':>12} "
        f"{'yes' if abs(rss_change) <= RSS_GOAL_PCT else 'no':>5}"
    )
    if early:
        at_30 = samples[1][2]
        print(
            f"{'RSS change from 30 s (cache fill), %':34} "
            f"{100 * (last[2] - at_30) / at_30:>+12.1f}  (from {at_30:.1f} MiB)"
        )
    # Caches that fill for minutes show as growth from the start; a leak keeps growing.
    middle = measured[len(measured) // 2]
    late = 100 * (last[2] - middle[2]) / middle[2]
    print(f"{'RSS change over the second half, %':34} {late:>+12.1f}  (from {middle[2]:.1f} MiB)")


if __name__ == "__main__":
    main()
