"""`--distributed-executor-backend ray`: the GPUs reserved across the Ray cluster.

vLLM's Ray executor connects to the cluster (RAY_ADDRESS), asks for a placement group of
one {"GPU": 1} bundle per rank (tensor x pipeline parallel size) and waits for it before
loading; its workers run inside that group, on every node. The simulator does the same
reservation with the real Ray, so a test sees a replica that holds GPUs on both hosts
and fails when one of them goes. Ray is imported only here, only when asked for: it
comes from the host's vLLM environment, not fleetdeck's.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reservation:
    nodes: tuple[str, ...]  # the node IP of each bundle, in rank order


class RayUnavailable(RuntimeError):
    """Ray is missing or the cluster cannot give the GPUs (the message is vLLM-like)."""


def reserve(world_size: int, timeout_s: float) -> tuple[Reservation, Any]:
    """Connect, reserve world_size GPUs, and return where they lie and the group."""
    try:
        import ray
        from ray.util.placement_group import (
            placement_group,
            placement_group_table,
        )
    except ImportError as exc:
        raise RayUnavailable(
            # vLLM 0.32's words (v1/executor/ray_utils.py), the missing space included.
            f"ValueError: Failed to import Ray: {exc}.Please install Ray with `pip install ray`."
        ) from exc
    # RAY_ADDRESS, as vLLM finds its cluster; "auto" reads the local node's session.
    ray.init(
        address=os.environ.get("RAY_ADDRESS") or "auto",
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    bundles = [{"GPU": 1.0} for _ in range(world_size)]
    group = placement_group(bundles, strategy="PACK")
    if not group.wait(timeout_seconds=timeout_s):
        raise RayUnavailable(
            f"Cannot provide a placement group of placement_group_specs={bundles} within"
            f" {timeout_s:g} seconds. See `ray status` to make sure the cluster has enough"
            " resources."
        )
    node_ids = placement_group_table(group)["bundles_to_node_id"]
    addresses = {node["NodeID"]: node["NodeManagerAddress"] for node in ray.nodes()}
    nodes = tuple(addresses.get(node_ids[rank], "?") for rank in sorted(node_ids))
    return Reservation(nodes), group


def watch_nodes(nodes: tuple[str, ...], on_lost: Callable[[str], None], every_s: float) -> None:
    """Call on_lost(ip) once a node holding a bundle is no longer alive (a thread)."""

    def loop() -> None:
        import ray

        wanted = set(nodes)
        while True:
            threading.Event().wait(every_s)
            try:
                alive = {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]}
            except Exception as exc:  # the GCS itself is gone (the head went)
                on_lost(f"head ({exc.__class__.__name__})")
                return
            lost = sorted(wanted - alive)
            if lost:
                on_lost(lost[0])
                return

    threading.Thread(target=loop, name="ray-node-watch", daemon=True).start()
