"""rollout_phase: what a deployment is in the middle of, from hand-built snapshots."""

from __future__ import annotations

from fleetdeck.core.commands.render import status_table
from fleetdeck.core.fleet.snapshot import (
    DeploymentSnapshot,
    DeploymentStatus,
    FleetSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
)
from fleetdeck.core.policy.rollout_phase import rollout_phase

S = ReplicaStatus


def replica(
    index: int,
    status: ReplicaStatus,
    *,
    spec: str = "old",
    started_at: float | None = 100.0,
    restarts: int = 0,
    last_exit_code: int | None = None,
) -> ReplicaSnapshot:
    return ReplicaSnapshot(
        id=f"llama/r{index}",
        deployment="llama",
        host="gpu-a",
        port=8100 + index,
        status=status,
        spec_hash="" if status is S.PENDING else spec,
        started_at=None if status is S.PENDING else started_at,
        restarts=restarts,
        last_exit_code=last_exit_code,
    )


def llama(desired: int, *replicas: ReplicaSnapshot) -> DeploymentSnapshot:
    ready = sum(1 for r in replicas if r.status in (S.ACTIVE, S.IDLE))
    return DeploymentSnapshot(
        name="llama",
        model="m",
        status=DeploymentStatus.ACTIVE,
        desired=desired,
        ready=ready,
        replicas=replicas,
    )


class TestRolling:
    def test_surge_counts_ready_replicas_of_the_newest_spec(self) -> None:
        # Today's "active 3/2": two old replicas and one new, ready, beside them.
        d = llama(
            2,
            replica(0, S.ACTIVE),
            replica(1, S.ACTIVE),
            replica(2, S.ACTIVE, spec="new", started_at=200.0),
        )
        assert rollout_phase(d) == "rolling 1/2 updated"

    def test_new_replica_still_starting_is_not_updated_yet(self) -> None:
        d = llama(1, replica(0, S.ACTIVE), replica(1, S.STARTING, spec="new", started_at=200.0))
        assert rollout_phase(d) == "rolling 0/1 updated"

    def test_old_replica_draining_after_the_new_ones_are_up(self) -> None:
        # The stopping one started last would be odd, but is not "newest": it is leaving.
        d = llama(
            2,
            replica(0, S.STOPPING, started_at=300.0),
            replica(1, S.ACTIVE, spec="new", started_at=200.0),
            replica(2, S.ACTIVE, spec="new", started_at=210.0),
        )
        assert rollout_phase(d) == "rolling 2/2 updated"

    def test_stopped_and_failed_old_replicas_do_not_make_a_rollout(self) -> None:
        d = llama(
            1,
            replica(0, S.STOPPED),
            replica(1, S.FAILED),
            replica(2, S.ACTIVE, spec="new", started_at=200.0),
        )
        assert rollout_phase(d) is None


class TestScaling:
    def test_scale_to_zero_while_the_last_replica_drains(self) -> None:
        # Today's "degraded 1/0".
        assert rollout_phase(llama(0, replica(0, S.STOPPING))) == "scaling 1→0"

    def test_scale_down_asked_before_any_stop_began(self) -> None:
        d = llama(1, replica(0, S.ACTIVE), replica(1, S.ACTIVE), replica(2, S.IDLE))
        assert rollout_phase(d) == "scaling 3→1"

    def test_scale_up_with_new_replicas_on_their_way(self) -> None:
        d = llama(3, replica(0, S.ACTIVE), replica(1, S.PENDING), replica(2, S.STARTING))
        assert rollout_phase(d) == "scaling 1→3"

    def test_first_start_from_nothing_is_loading_not_scaling(self) -> None:
        assert rollout_phase(llama(2, replica(0, S.STARTING), replica(1, S.PENDING))) is None

    def test_crashed_replica_coming_back_is_not_a_scale(self) -> None:
        d = llama(2, replica(0, S.ACTIVE), replica(1, S.STARTING, restarts=1, last_exit_code=137))
        assert rollout_phase(d) is None

    def test_scale_up_beside_a_failed_replica_keeps_the_ratio(self) -> None:
        d = llama(3, replica(0, S.ACTIVE), replica(1, S.STARTING), replica(2, S.FAILED))
        assert rollout_phase(d) is None


class TestSettled:
    def test_settled_deployment_has_no_phase(self) -> None:
        assert rollout_phase(llama(2, replica(0, S.ACTIVE), replica(1, S.IDLE))) is None

    def test_stopped_deployment_has_no_phase(self) -> None:
        assert rollout_phase(llama(0, replica(0, S.STOPPED))) is None
        assert rollout_phase(llama(0)) is None

    def test_replicas_without_hashes_never_look_like_a_rollout(self) -> None:
        d = llama(2, replica(0, S.ACTIVE, spec=""), replica(1, S.ACTIVE, spec=""))
        assert rollout_phase(d) is None


def test_status_table_shows_the_phase_in_the_ready_column() -> None:
    rolling = llama(
        2,
        replica(0, S.ACTIVE),
        replica(1, S.ACTIVE),
        replica(2, S.ACTIVE, spec="new", started_at=200.0),
    )
    text = status_table(FleetSnapshot(fleet="lab", taken_at=1.0, deployments=(rolling,)))
    line = next(line for line in text.splitlines() if line.startswith("llama "))
    assert "rolling 1/2 updated" in line
    assert "3/2" not in line
