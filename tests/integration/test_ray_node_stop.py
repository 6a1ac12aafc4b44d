"""stop_marked ends every process carrying a replica's marker, in any process group:
Ray's worker processes take groups of their own, which a kill of the node's group misses.
Real processes, no Ray needed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from fleetdeck.hosts.remote import ray_node, stop

pytestmark = pytest.mark.integration


def test_marked_processes_in_other_groups_and_ones_ignoring_sigterm_are_ended(
    tmp_path: Path,
) -> None:
    replica_dir = str(tmp_path / "replica")
    env = {**os.environ, **ray_node.marker_env(replica_dir)}
    # A leader in its own group, a child that moves to a group of its own (as ray::IDLE
    # does), and a child that ignores SIGTERM (as gcs_server does for a while).
    script = "setsid sleep 300 & (trap '' TERM; exec sleep 301) & wait"
    leader = subprocess.Popen(["sh", "-c", script], env=env, start_new_session=True)
    deadline = time.monotonic() + 10
    while len(ray_node.marked_processes(replica_dir)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ray_node.marked_processes(replica_dir)) == 3
    unmarked = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        assert ray_node.stop_marked(replica_dir, grace_s=0.5) == []
        leader.wait(timeout=5)
        assert unmarked.poll() is None  # only the replica's processes
    finally:
        unmarked.kill()
        unmarked.wait()
        ray_node.stop_marked(replica_dir, grace_s=0.1)


def test_the_host_programs_stop_ends_marked_processes_outside_vllms_group(
    tmp_path: Path,
) -> None:
    """A replica's Ray node (here: a marked process in a session of its own) goes with
    the replica, though it is in neither vLLM's group nor the supervisor's."""
    state_dir = tmp_path / "state"
    replica_dir = state_dir / "big" / "host-1-0"
    replica_dir.mkdir(parents=True)
    env = {**os.environ, **ray_node.marker_env(str(replica_dir))}
    node = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    try:
        # Until the child has exec'd, /proc shows the forked parent's environment (no
        # marker): stop only once sleep's own command line is there.
        cmdline = Path(f"/proc/{node.pid}/cmdline")
        deadline = time.monotonic() + 10
        while not cmdline.read_bytes().startswith(b"sleep") and time.monotonic() < deadline:
            time.sleep(0.01)
        reply = stop.stop(
            {
                "state_dir": str(state_dir),
                "deployment": "big",
                "replica": "host-1-0",
                "grace_s": 1.0,
            }
        )
        assert reply.ok and not reply.left_running
        assert node.wait(timeout=5) is not None
        assert ray_node.marked_processes(str(replica_dir)) == []
    finally:
        node.kill()
        node.wait()
