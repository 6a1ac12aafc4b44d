"""One host's part of a replica that spans hosts: a Ray node, its command line and its stop.

Measured with ray 2.60 (benchmarks/ray_cluster.py): `ray start` daemonizes its processes
into its own process group, but the worker processes its raylet forks (ray::IDLE, vLLM's
RayWorkerWrapper) each take a process group of their own, so killing the node's group
misses them. Every Ray process inherits the environment `ray start` was given, so the
supervisor's FLEETDECK_REPLICA marker finds them all: a stop signals each marked group,
waits, then SIGKILLs whatever still carries the marker (gcs_server, raylet and the agents
outlive a SIGTERM by more than 10 s). `ray stop` is never used: it kills every Ray
process of the user on the host, other replicas' clusters included.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from typing import Dict, List, Optional, Sequence

from . import layout, observe, procfs

# The ports one node takes, in this order, from the start of its block; the rest of
# the block is the workers' gRPC range (one port per Ray worker process).
FIXED_PORTS = (
    "gcs",  # the head's GCS (--port); unused on a worker node
    "node_manager",
    "object_manager",
    "dashboard_agent_listen",
    "dashboard_agent_grpc",
    "runtime_env_agent",
    "metrics_export",
)
MIN_WORKER_PORTS = 4
# The smallest object store Ray accepts (bytes); vLLM moves no tensors through it.
OBJECT_STORE_BYTES = 80 * 1000 * 1000


def node_ports(low: int, high: int) -> Optional[Dict[str, int]]:
    """Ray's ports from the block [low, high], or None when it is too small."""
    if high - low + 1 < len(FIXED_PORTS) + MIN_WORKER_PORTS:
        return None
    ports = {name: low + index for index, name in enumerate(FIXED_PORTS)}
    ports["min_worker"] = low + len(FIXED_PORTS)
    ports["max_worker"] = high
    return ports


def start_argv(
    ray: Sequence[str],
    node_ip: str,
    ports: Dict[str, int],
    num_gpus: int,
    temp_dir: str,
    head_address: Optional[str] = None,
) -> List[str]:
    """`ray start` for a head (head_address None) or a worker joining head_address.

    --num-gpus limits the raylet to the GPUs placed here (CUDA_VISIBLE_DEVICES, set
    from the placement's UUIDs, limits what vLLM's workers see); every port comes from
    the host's range; no dashboard; a temp dir per replica, so two clusters on one host
    never share a session directory. --block keeps `ray start` in the foreground as the
    node's leader, so the supervisor sees the node end.
    """
    argv = list(ray) + [
        "start",
        "--block",
        "--node-ip-address=%s" % node_ip,
        "--num-gpus=%d" % num_gpus,
        "--num-cpus=%d" % max(1, num_gpus),
        "--object-store-memory=%d" % OBJECT_STORE_BYTES,
        "--temp-dir=%s" % temp_dir,
        "--disable-usage-stats",
        "--node-manager-port=%d" % ports["node_manager"],
        "--object-manager-port=%d" % ports["object_manager"],
        "--dashboard-agent-listen-port=%d" % ports["dashboard_agent_listen"],
        "--dashboard-agent-grpc-port=%d" % ports["dashboard_agent_grpc"],
        "--runtime-env-agent-port=%d" % ports["runtime_env_agent"],
        "--metrics-export-port=%d" % ports["metrics_export"],
        "--min-worker-port=%d" % ports["min_worker"],
        "--max-worker-port=%d" % ports["max_worker"],
    ]
    if head_address is None:
        argv += ["--head", "--port=%d" % ports["gcs"], "--include-dashboard=false"]
    else:
        argv += ["--address=%s" % head_address]
    return argv


def marked_processes(replica_dir: str) -> List[int]:
    """Live processes carrying this replica's marker: its vLLM, Ray nodes and workers."""
    found = []
    for entry in os.listdir("/proc"):
        marked = entry.isdigit() and observe.replica_marker(int(entry)) == replica_dir
        if marked and not procfs.is_zombie(int(entry)):
            found.append(int(entry))
    return found


def stop_marked(replica_dir: str, grace_s: float) -> List[int]:
    """SIGTERM every group holding a marked process, SIGKILL what is left after grace_s.

    Returns the marked processes still alive at the end (none, normally). Our own group
    is never signalled: the host program itself may carry no marker but shares nothing.
    """
    own = os.getpgrp()
    groups = set()
    for pid in marked_processes(replica_dir):
        group = observe.process_group(pid)
        if group is not None and group != own:
            groups.add(group)
    for group in groups:
        procfs.signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while marked_processes(replica_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in marked_processes(replica_dir):
        procfs.signal_pid(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while marked_processes(replica_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    return marked_processes(replica_dir)


def temp_dir(replica_dir: str) -> str:
    """A short temp dir of this replica's own: Ray puts unix sockets under
    <temp>/session_<date>_<pid>/sockets/, and AF_UNIX paths are limited to 107 bytes, so
    the replica's state directory (often longer) cannot hold them (`ray start` fails)."""
    digest = hashlib.sha256(replica_dir.encode()).hexdigest()[:12]
    return "/tmp/fleetdeck-ray-%s" % digest


def marker_env(replica_dir: str) -> Dict[str, str]:
    """The variable every process of this replica carries (see observe.replica_marker)."""
    return {layout.MARKER_VAR: replica_dir}
