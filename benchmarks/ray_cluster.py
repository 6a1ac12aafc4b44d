"""What a two-node Ray cluster on loopback costs, and how it is stopped without `ray stop`.

    .venv/bin/python benchmarks/ray_cluster.py [--ray .venv/bin/ray] [--base-port 29100]
                                               [--auth] [--grace 10]

Issue 12 (multi-node replicas on Ray) needs this measured before fleetdeck starts Ray
for a replica: a head on 127.0.0.2 and a worker on 127.0.0.3 (two "hosts" on one
machine), each with `--num-gpus 2` declaring simulated GPUs, every port from a range,
`--include-dashboard=false` and the smallest object store Ray accepts. Every process is
started with FLEETDECK_REPLICA set, the marker the host program already uses to tell a
replica's processes: Ray's processes inherit it, so they can be counted, measured and
stopped by it. `ray stop` is never used: it kills every Ray process of the user on the
machine, other clusters included.

Prints one table: time until both nodes and all GPUs are visible, RSS of every Ray
process, a STRICT_SPREAD placement group over both nodes (what vLLM's Ray executor
asks for), the addresses Ray listens on, and what a SIGTERM to each process group
leaves behind. Single runs; this 2-core machine is noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARKER = "FLEETDECK_REPLICA"
HEAD, WORKER = "127.0.0.2", "127.0.0.3"

CLIENT = r"""
import sys, time, ray
from ray.util.placement_group import placement_group, placement_group_table
started = time.monotonic()
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
connected = time.monotonic()
while True:
    alive = [n for n in ray.nodes() if n["Alive"]]
    if len(alive) == 2 and ray.cluster_resources().get("GPU", 0) >= 4:
        break
    time.sleep(0.2)
visible = time.monotonic()
group = placement_group([{"GPU": 2}, {"GPU": 2}], strategy="STRICT_SPREAD")
ready = group.wait(timeout_seconds=60)
placed = time.monotonic()
nodes = set(placement_group_table(group)["bundles_to_node_id"].values())
ray.util.remove_placement_group(group)
print("connect_s=%.2f visible_s=%.2f pg_ready=%s pg_s=%.2f pg_nodes=%d"
      % (connected - started, visible - started, ready, placed - visible, len(nodes)))
"""


def ray_ports(base: int) -> list[str]:
    """Every port Ray opens, from [base, base + 40]: GCS (head), raylet, object
    manager, agents, metrics and the workers' gRPC range."""
    return [
        f"--node-manager-port={base + 1}",
        f"--object-manager-port={base + 2}",
        f"--dashboard-agent-listen-port={base + 3}",
        f"--dashboard-agent-grpc-port={base + 4}",
        f"--runtime-env-agent-port={base + 5}",
        f"--metrics-export-port={base + 6}",
        f"--min-worker-port={base + 10}",
        f"--max-worker-port={base + 40}",
    ]


def start_node(
    ray: str, role: str, ip: str, base: int, head: str, env: dict[str, str], temp: Path
) -> float:
    argv = [
        ray,
        "start",
        f"--node-ip-address={ip}",
        "--num-gpus=2",
        "--num-cpus=1",
        "--object-store-memory=80000000",
        f"--temp-dir={temp / role}",
        "--disable-usage-stats",
        *ray_ports(base),
    ]
    if role == "head":
        argv += ["--head", f"--port={base}", "--include-dashboard=false"]
    else:
        argv += [f"--address={head}"]
    started = time.monotonic()
    # A session of its own, as the host's supervisor gives it: `ray start` daemonizes
    # its processes into its own process group, which is then Ray's alone.
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=180, start_new_session=True
    )
    if done.returncode != 0:
        sys.exit(f"ray start ({role}) failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.monotonic() - started


def marked(value: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if f"{MARKER}={value}".encode() in environ.split(b"\0"):
            pids.append(int(entry))
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def listening(pids: list[int]) -> set[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            found.add(line.split()[3])
    return found


def stop(value: str, grace: float) -> tuple[int, int, float]:
    """SIGTERM to each marked process group, then SIGKILL what is left after grace."""
    started = time.monotonic()
    groups = {os.getpgid(pid) for pid in marked(value) if _exists(pid)} - {os.getpgrp()}
    for group in groups:
        _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while marked(value) and time.monotonic() < deadline:
        time.sleep(0.2)
    after_term = len(marked(value))
    for pid in marked(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while marked(value) and time.monotonic() < deadline + 5:
        time.sleep(0.1)
    return len(groups), after_term, time.monotonic() - started


def _exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ray", default=str(Path(sys.executable).with_name("ray")))
    parser.add_argument("--base-port", type=int, default=29100)
    parser.add_argument("--auth", action="store_true", help="RAY_AUTH_MODE=token")
    parser.add_argument("--grace", type=float, default=10.0)
    args = parser.parse_args()
    temp = Path(tempfile.mkdtemp(prefix="fleetdeck-ray-"))
    value = str(temp / "replica")
    env = {**os.environ, MARKER: value}
    if args.auth:
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    head = f"{HEAD}:{args.base_port}"
    rows: list[tuple[str, str]] = []
    try:
        rows.append(
            (
                "ray start --head (s)",
                "{:.1f}".format(
                    start_node(args.ray, "head", HEAD, args.base_port, head, env, temp)
                ),
            )
        )
        rows.append(
            (
                "ray start --address (s)",
                "{:.1f}".format(
                    start_node(args.ray, "worker", WORKER, args.base_port + 100, head, env, temp)
                ),
            )
        )
        python = str(Path(args.ray).with_name("python"))
        client = subprocess.run(
            [python, "-c", CLIENT, head], env=env, capture_output=True, text=True, timeout=180
        )
        rows.append(("client", (client.stdout.strip() or client.stderr[-500:])))
        if args.auth:
            bare = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
            try:
                refused = subprocess.run(
                    [python, "-c", CLIENT, head],
                    env=bare,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                said = (refused.stderr.strip().splitlines() or ["?"])[-1][:120]
                rows.append(("client without token", f"exit {refused.returncode}: {said}"))
            except subprocess.TimeoutExpired:
                rows.append(("client without token", "no answer in 60 s"))
        pids = marked(value)
        rows.append(("Ray processes", str(len(pids))))
        rows.append(("RSS of all (MiB)", "%.0f" % (sum(rss_kib(p) for p in pids) / 1024)))
        rows.append(("listening on", " ".join(sorted(listening(pids)))))
    except Exception as exc:  # still stop what was started, and say what failed
        rows.append(("failed", repr(exc)[:500]))
    finally:
        groups, after_term, took = stop(value, args.grace)
        rows.append(("process groups signalled", str(groups)))
        rows.append((f"left {args.grace:g}s after SIGTERM", str(after_term)))
        rows.append(("stop took (s)", f"{took:.1f}"))
        rows.append(("left after SIGKILL", str(len(marked(value)))))
        shutil.rmtree(temp, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    for name, value_text in rows:
        print(f"{name:<{width}}  {value_text}")


if __name__ == "__main__":
    main()
