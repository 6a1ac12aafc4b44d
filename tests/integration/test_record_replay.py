"""`fleetdeck run --record` over real sshd while a replica is killed, then
`fleetdeck replay --headless` at three moments: active, restarting, active again."""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.core.fleet.snapshot import DeploymentSnapshot, DeploymentStatus, FleetSnapshot
from fleetdeck.core.recording.reader import Recording, RecordingError
from fleetdeck.core.recording.writer import RecordingWriter
from tests.harness.fleetdeck_cli import controller_running, fleetdeck, wait_until
from tests.harness.inventory_writer import write_inventory
from tests.harness.sshd import SshdFleet
from tests.integration.test_console_smoke import FLEETDECK, Tmux

pytestmark = pytest.mark.integration

DEPLOYMENT = """
[[deployments]]
name = "chat"
model = "sim/chat"
replicas = 1
restart_backoff = "3s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "1"]
"""


def replica_at(recording: Path, at: float) -> dict[str, Any]:
    done = fleetdeck("replay", str(recording), "--headless", "--at", f"{at:.2f}", "--json")
    assert done.returncode == 0, done.stderr
    (replica,) = json.loads(done.stdout)["deployments"][0]["replicas"]
    assert isinstance(replica, dict)
    return replica


def table_at(recording: Path, at: float) -> str:
    done = fleetdeck("replay", str(recording), "--headless", "--at", f"{at:.2f}")
    assert done.returncode == 0, done.stderr
    return done.stdout


def replica_line(table: str, replica_id: str) -> list[str]:
    """The replica's row of the status table (its failure note below may name it too)."""
    rows = [row.split() for row in table.splitlines() if row.strip().startswith(replica_id)]
    assert rows, table
    return rows[0]


def recorded_replica(recording: Path) -> dict[str, Any] | None:
    """The replica as the recording's newest snapshot shows it, read while it is written
    (cheaper than a `fleetdeck status` a poll on 2 busy cores)."""
    if not recording.exists():
        return None
    try:
        snapshot = Recording.open(recording).snapshot(-1)
    except RecordingError:
        return None  # no snapshot yet
    replicas = snapshot.deployments[0].replicas if snapshot.deployments else ()
    return replicas[0].model_dump(mode="json") if replicas else None


def ready_in(recording: Path, other_than: int | None = None) -> dict[str, Any] | None:
    replica = recorded_replica(recording)
    if replica is None or replica["status"] not in ("active", "idle"):
        return None
    return replica if replica["pid"] != other_than else None


def test_a_killed_replica_replays_as_active_restarting_active(
    sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    fleet: SshdFleet = sshd_fleet_factory(1)
    inventory = write_inventory(fleet, tmp_path / "fleet.toml", deployments_toml=DEPLOYMENT)
    recording = tmp_path / "night.rec"
    with controller_running(inventory, "--record", str(recording)) as controller:
        wait_until(lambda: ready_in(recording) is not None, 60, "the replica to be ready")
        time.sleep(1.5)  # the recorder's snapshots show it ready for a while
        first = ready_in(recording)
        assert first is not None
        before_kill = time.time()
        os.kill(first["pid"], signal.SIGKILL)
        controller.wait_for("replica.exited", timeout=30)
        wait_until(lambda: ready_in(recording, other_than=first["pid"]) is not None, 60,
                   "the replica to be restarted and ready")  # fmt: skip
        time.sleep(1.5)
        after_restart = time.time()
    recorded = Recording.open(recording)
    start = recorded.start  # what --at counts from
    # A frame is written when the snapshot changes: the last one may be older than the
    # moment the controller stopped, and --at beyond it is refused.
    end = min(after_restart - start, recorded.duration)

    # 1. Before the kill: ready, with the first pid.
    before = replica_line(table_at(recording, before_kill - start - 0.5), first["id"])
    assert before[1] in ("active", "idle") and str(first["pid"]) in before
    # 2. After the kill: down, then coming back. The watcher sees the exit a moment
    #    later (how long is the engine's business); look second by second from the kill.
    at = before_kill - start + 1.0
    table = table_at(recording, at)
    while replica_line(table, first["id"])[1] in ("active", "idle") and at + 1.0 <= end:
        at += 1.0
        table = table_at(recording, at)
    down = replica_line(table, first["id"])
    assert down[1] in ("failed", "starting", "pending", "stopped", "unknown"), table
    assert str(first["pid"]) not in down and "137" in " ".join(down), table
    # 3. At the end: ready again, a new pid, one restart.
    after = replica_at(recording, end - 0.01)
    assert after["status"] in ("active", "idle")
    assert after["pid"] != first["pid"] and after["restarts"] == 1


def test_bad_recordings_exit_2_with_a_reason(tmp_path: Path) -> None:
    recording = tmp_path / "r.rec"
    writer = RecordingWriter(recording, meta={"fleet": "lab"})
    for second in range(5):
        writer.snapshot(FleetSnapshot(fleet="lab", taken_at=1000.0 + second), now=1000.0 + second)
    writer.close()
    inventory = tmp_path / "fleet.toml"
    inventory.write_text("[fleet]\nname = 'lab'\n")
    # Not a recording: an inventory.
    done = fleetdeck("replay", str(inventory), "--headless")
    assert done.returncode == 2 and "not a fleetdeck recording" in done.stderr
    # Beyond its end.
    done = fleetdeck("replay", str(recording), "--headless", "--at", "86400")
    assert done.returncode == 2 and "the recording lasts 4.0 s" in done.stderr
    # Torn mid-frame (a recorder killed while writing): read up to the last whole frame.
    with recording.open("r+b") as file:
        file.truncate(recording.stat().st_size - 2)
    done = fleetdeck("replay", str(recording), "--headless", "--json")
    assert done.returncode == 0 and "incomplete frame" in done.stderr
    assert json.loads(done.stdout)["taken_at"] == 1003.0
    # Missing, and --at without --headless.
    done = fleetdeck("replay", str(tmp_path / "nope.rec"), "--headless")
    assert done.returncode == 2 and "nope.rec" in done.stderr
    done = fleetdeck("replay", str(recording), "--at", "3")
    assert done.returncode == 2 and "--headless" in done.stderr


def test_the_replay_console_in_a_real_terminal(tmp_path: Path) -> None:
    """`fleetdeck replay REC` in tmux: it plays, pauses, seeks, quits with 0. (Verbs'
    refusals are checked under the pilot, tests/tui/test_replay.py.)"""
    recording = tmp_path / "r.rec"
    writer = RecordingWriter(recording, meta={"fleet": "lab"})
    for second in range(20):
        status = DeploymentStatus.ACTIVE if second < 10 else DeploymentStatus.FAILED
        chat = DeploymentSnapshot(name="chat", model="sim/chat", status=status, desired=1)
        snapshot = FleetSnapshot(fleet="lab", taken_at=1000.0 + second, deployments=(chat,))
        writer.snapshot(snapshot, now=1000.0 + second)
    writer.close()
    tmux = Tmux(tmp_path)
    exit_file = tmp_path / "exit-code"
    command = shlex.join(["env", f"XDG_CONFIG_HOME={tmp_path / 'config'}", FLEETDECK,
                          "replay", str(recording)])  # fmt: skip
    tmux.start(f"{command}; echo $? > {shlex.quote(str(exit_file))}")
    try:
        tmux.wait_for(lambda s: "replay lab · 0:00:" in s and "/ 0:00:19" in s, "the player")
        tmux.keys("Space")
        tmux.wait_for(lambda s: "paused" in s, "paused")
        tmux.keys("@")
        time.sleep(0.5)
        tmux.type("15")
        tmux.keys("Enter")
        tmux.wait_for(lambda s: "0:00:15 / 0:00:19" in s and "failed" in s, "the seek to 15 s")
        tmux.keys("q")
        wait_until(lambda: exit_file.exists() and exit_file.read_text().strip() != "", 20,
                   "the replay to quit")  # fmt: skip
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux.close()
