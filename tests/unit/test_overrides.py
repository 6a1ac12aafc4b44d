"""overrides.json: written by several fleetdeck processes at once, no update lost."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from fleetdeck.core.inventory import Inventory, parse_inventory
from fleetdeck.core.state.overrides import Overrides

INVENTORY = """
[fleet]
name = "t"
[[hosts]]
name = "a"
transport = "local"
[[deployments]]
name = "one"
model = "m"
replicas = 2
[[deployments]]
name = "two"
model = "m"
[[deployments]]
name = "scaled"
model = "m"
[deployments.autoscale]
min = 0
max = 4
"""
INCREMENTS = 200


def inventory(tmp_path: Path) -> Inventory:
    return parse_inventory(INVENTORY, tmp_path / "fleet.toml")


def _increment(directory: str, deployment: str, start: Event) -> None:
    """In a spawned process: 200 times, read this deployment's count and write it plus one
    (and now and then a restart token). A write by the other process that started from an
    older file would put the count back, and the total would come out short."""
    overrides = Overrides(Path(directory), parse_inventory(INVENTORY, Path(directory) / "f"))
    start.wait()
    for i in range(INCREMENTS):
        current = overrides.desired().get(deployment, 0)
        overrides.set(deployment, current + 1, by="test")
        if i % 50 == 0:
            overrides.bump_restart(deployment, str(i))


def run_at_once(target: Callable[..., None], *args_per_process: tuple[object, ...]) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=target, args=(*args, start)) for args in args_per_process]
    for worker in workers:
        worker.start()
    start.set()  # both are up: their writes interleave
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * len(workers)


def test_two_processes_writing_at_once_lose_no_update(tmp_path: Path) -> None:
    run_at_once(_increment, (str(tmp_path), "one"), (str(tmp_path), "two"))
    overrides = Overrides(tmp_path, inventory(tmp_path))
    assert overrides.desired() == {"one": INCREMENTS, "two": INCREMENTS}
    assert overrides.restart_tokens() == {"one": "150", "two": "150", "scaled": ""}
    left = {p.name for p in tmp_path.iterdir()}
    # No temp file left behind; the edits wait for the fleet's home host beside the copy.
    assert left <= {"overrides.json", "overrides.json.lock", "overrides.unshared.json"}


def test_the_lock_makes_each_read_modify_write_atomic(tmp_path: Path) -> None:
    """Both processes count in the same entry, inside the locked read-modify-write."""
    Overrides(tmp_path, inventory(tmp_path)).set("one", 0)
    run_at_once(_add_to_one, (str(tmp_path),), (str(tmp_path),))
    data = json.loads((tmp_path / "overrides.json").read_text())
    assert data["one"]["replicas"] == 2 * INCREMENTS
    assert not list(tmp_path.glob("*.tmp"))


def _add_to_one(directory: str, start: Event) -> None:
    overrides = Overrides(Path(directory), parse_inventory(INVENTORY, Path(directory) / "f"))
    start.wait()
    for _ in range(INCREMENTS):
        with overrides._editing() as data:
            data["one"]["replicas"] += 1


def test_set_and_forget_one_deployment(tmp_path: Path) -> None:
    overrides = Overrides(tmp_path, inventory(tmp_path))
    overrides.set("one", 3, by="fleetdeck scale")
    overrides.set("two", 0, by="fleetdeck stop")
    overrides.bump_restart("one", "t1")
    overrides.bump_restart("two", "t2")
    overrides.forget("one")
    assert overrides.desired() == {"two": 0}
    assert overrides.restart_tokens() == {"one": "", "two": "t2", "scaled": ""}
    overrides.forget("not-in-the-inventory")  # nothing to drop: no error
    assert overrides.desired() == {"two": 0}


def test_forget_everything(tmp_path: Path) -> None:
    overrides = Overrides(tmp_path, inventory(tmp_path))
    overrides.set("one", 3)
    overrides.bump_restart("two", "t2")
    overrides.forget(None)
    assert overrides.desired() == {}
    assert overrides.restart_tokens() == {"one": "", "two": "", "scaled": ""}
    assert json.loads((tmp_path / "overrides.json").read_text()) == {}


def test_describe_in_force(tmp_path: Path) -> None:
    overrides = Overrides(tmp_path, inventory(tmp_path))
    assert overrides.describe_in_force() == []
    overrides.set("one", 3, by="fleetdeck scale")
    overrides.set("two", 0, by="fleetdeck stop")
    overrides.set("scaled", 1)
    overrides.bump_restart("one", "t")  # a restart token is no replica count
    assert overrides.describe_in_force() == [
        "one: 3 replicas (fleetdeck scale), inventory says 2",
        "two: stopped (fleetdeck stop), inventory says 1",
        "scaled: 1 replica, inventory says autoscale 0-4",
    ]


def test_an_override_the_inventory_changed_since_is_not_in_force(tmp_path: Path) -> None:
    Overrides(tmp_path, inventory(tmp_path)).set("one", 3)
    changed = parse_inventory(INVENTORY.replace("replicas = 2", "replicas = 5"), tmp_path / "f")
    overrides = Overrides(tmp_path, changed)
    assert overrides.desired() == {}
    assert overrides.describe_in_force() == []


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", "", '{"one": 3, "two": {"replicas": "x", "inventory_replicas": 1}}'],
)
def test_a_corrupt_file_reads_as_no_overrides(tmp_path: Path, content: str) -> None:
    (tmp_path / "overrides.json").write_text(content)
    overrides = Overrides(tmp_path, inventory(tmp_path))
    assert overrides.desired() == {}
    assert overrides.describe_in_force() == []
    assert overrides.restart_tokens() == {"one": "", "two": "", "scaled": ""}
    overrides.set("two", 4)  # and the next write starts over from it
    assert overrides.desired() == {"two": 4}


def test_a_failed_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = Overrides(tmp_path, inventory(tmp_path))
    overrides.set("one", 3)

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("fleetdeck.core.state.atomic_file.os.fsync", refuse)
    with pytest.raises(OSError, match="No space"):
        overrides.set("one", 4)
    assert overrides.desired() == {"one": 3}
    assert not list(tmp_path.glob("*.tmp"))


def test_overrides_written_before_sharing_are_sent_to_the_home_host_not_lost(
    tmp_path: Path,
) -> None:
    """An overrides.json from a fleetdeck that kept it only here (no home revision, no
    edits queued): its entries are queued for the home host, so the first document taken
    from there does not replace a stop made before the upgrade."""
    from fleetdeck.hosts.observations import FleetOverrides

    stopped = {"replicas": 0, "inventory_replicas": 2, "by": "fleetdeck stop"}
    (tmp_path / "overrides.json").write_text(json.dumps({"one": stopped}))
    overrides = Overrides(tmp_path, inventory(tmp_path))
    assert overrides.unshared() == [["set", "one", stopped]]
    scaled = {"replicas": 3, "inventory_replicas": 1}
    assert overrides.take_shared(FleetOverrides(revision=1, entries={"two": scaled}))
    assert overrides.desired() == {"one": 0, "two": 3}
    # Queued once: a second start of fleetdeck finds the queue and adds nothing.
    assert Overrides(tmp_path, inventory(tmp_path)).unshared() == [["set", "one", stopped]]
