"""The recording format: deltas, round trip, a torn tail, rotation, and the player."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.core.errors import UsageError
from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import (
    DeploymentSnapshot,
    DeploymentStatus,
    FleetSnapshot,
    HostSnapshot,
    HostState,
    MetricsSnapshot,
    ReplicaSnapshot,
    ReplicaStatus,
)
from fleetdeck.core.recording import frames
from fleetdeck.core.recording.delta import diff, patch
from fleetdeck.core.recording.player import ReplaySource
from fleetdeck.core.recording.reader import Recording, RecordingError
from fleetdeck.core.recording.recorder import recording
from fleetdeck.core.recording.writer import MIN_MAX_BYTES, RecordingWriter, rotated

T0 = 1_700_000_000.0


def fleet(second: int, *, status: ReplicaStatus = ReplicaStatus.ACTIVE) -> FleetSnapshot:
    """A small fleet that moves every second: a load, a sparkline, a status."""
    history = tuple(float((second + i) % 7) for i in range(20))
    replica = ReplicaSnapshot(
        id="llama/r0",
        deployment="llama",
        host="gpu-a",
        port=8100,
        pid=4000 + second // 10,
        status=status,
        healthy=status is ReplicaStatus.ACTIVE,
        metrics=MetricsSnapshot(
            sampled_at=T0 + second, window_s=60.0, request_rate_history=history
        ),
    )
    return FleetSnapshot(
        fleet="lab",
        taken_at=T0 + second,
        hosts=(
            HostSnapshot(
                name="gpu-a",
                address="10.0.0.1",
                state=HostState.UP,
                load_1m=second / 10,
                labels={"zone": "eu"},
            ),
        ),  # fmt: skip
        deployments=(
            DeploymentSnapshot(
                name="llama",
                model="m",
                status=DeploymentStatus.ACTIVE,
                desired=1,
                ready=1,
                replicas=(replica,),
            ),
        ),  # fmt: skip
    )


def write(path: Path, seconds: range, **options: Any) -> RecordingWriter:
    writer = RecordingWriter(path, meta={"fleet": "lab"}, **options)
    for second in seconds:
        writer.snapshot(fleet(second), now=T0 + second)
    return writer


class TestDelta:
    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ({"a": 1, "b": [1, 2, 3]}, {"a": 2, "b": [1, 2, 3]}),
            ({"a": 1, "gone": 2}, {"a": 1, "new": {"x": None}}),
            ([1, 2, 3, 4], [2, 3, 4, 5]),  # a sparkline moved along
            ([0, 0, 0], [0, 0, 0, 1]),  # grew
            ([{"id": 1}, {"id": 2}], [{"id": 1}]),  # a replica gone
            ([1, 2], []),
            (1, 1.0),  # a type change is a change
            ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}, 4]}),
        ],
    )
    def test_patch_undoes_diff(self, old: Any, new: Any) -> None:
        op = diff(old, new)
        assert op is not None
        result = patch(copy.deepcopy(old), op)
        assert result == new and type(result) is type(new)

    def test_equal_documents_have_no_delta(self) -> None:
        assert diff({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) is None

    def test_a_moved_sparkline_is_one_small_op(self) -> None:
        old = list(range(120))
        assert diff(old, [*old[1:], 500]) == ["s", 1, [500]]

    def test_a_delta_names_only_what_changed(self) -> None:
        a, b = fleet(1).model_dump(mode="json"), fleet(2).model_dump(mode="json")
        op = diff(a, b)
        assert op is not None and op[0] == "d"
        assert set(op[1]) == {"taken_at", "hosts", "deployments"}
        assert "model" not in str(op) and "address" not in str(op)


class TestRoundTrip:
    def test_every_snapshot_and_event_comes_back(self, tmp_path: Path) -> None:
        path = tmp_path / "r.rec"
        writer = write(path, range(0, 150), keyframe_every_s=60.0)
        event = Event(time=T0 + 149.5, kind="replica.exited", subject="llama/r0",
                      message="exited with code 137", level="warning")  # fmt: skip
        writer.event(event)
        writer.close()
        recording = Recording.open(path)
        assert recording.fleet == "lab"
        assert recording.events == (event,)
        assert len(recording) == 150 and recording.duration == 149.0
        assert recording.torn_at is None
        # Out of order: each decodes from its keyframe or from the one decoded last.
        for second in (149, 0, 61, 60, 59, 120, 121, 10):
            assert recording.snapshot_at(T0 + second) == fleet(second)
        assert recording.snapshot_at(T0 + 30.7) == fleet(30)
        assert recording.snapshot_at(T0 - 5) == fleet(0)
        assert recording.snapshot(-1) == fleet(149)

    def test_deltas_between_keyframes_make_it_smaller(self, tmp_path: Path) -> None:
        write(tmp_path / "d.rec", range(120), keyframe_every_s=60.0).close()
        write(tmp_path / "k.rec", range(120), keyframe_every_s=0.0).close()
        kinds = [f.kind for f in frames.scan((tmp_path / "d.rec").read_bytes()).frames]
        assert kinds.count(frames.KEYFRAME) == 2 and kinds.count(frames.DELTA) == 118
        assert (tmp_path / "d.rec").stat().st_size < (tmp_path / "k.rec").stat().st_size / 2

    def test_an_unchanged_snapshot_is_not_written_again(self, tmp_path: Path) -> None:
        writer = write(tmp_path / "r.rec", range(3))
        size = writer.size
        writer.snapshot(fleet(2), now=T0 + 3)
        assert writer.size == size


class TestTruncation:
    def test_a_torn_tail_reads_up_to_the_last_whole_frame(self, tmp_path: Path) -> None:
        path = tmp_path / "r.rec"
        write(path, range(30)).close()
        whole = path.read_bytes()
        ends = [len(frames.MAGIC)]
        for frame in frames.scan(whole).frames:
            ends.append(ends[-1] + frames.HEAD_SIZE + len(frame.payload))
        # Cut inside the last frame's payload, and inside its head.
        for cut in (len(whole) - 3, ends[-2] + 5):
            path.write_bytes(whole[:cut])
            recording = Recording.open(path)
            assert recording.torn_at == ends[-2]
            assert len(recording) == 29
            assert recording.snapshot(len(recording) - 1) == fleet(28)

    def test_a_garbled_frame_ends_the_recording_there(self, tmp_path: Path) -> None:
        path = tmp_path / "r.rec"
        write(path, range(10)).close()
        data = bytearray(path.read_bytes())
        data[-2] ^= 0xFF  # the CRC catches it
        path.write_bytes(bytes(data))
        recording = Recording.open(path)
        assert len(recording) == 9 and recording.torn_at is not None

    @pytest.mark.parametrize(
        ("content", "says"),
        [
            (b"[fleet]\nname = 'x'\n", "not a fleetdeck recording"),
            (b"", "not a fleetdeck recording"),
            (frames.MAGIC + b"\x00\x01", "ends before its header"),
        ],
    )
    def test_what_is_not_a_recording_is_refused(
        self, tmp_path: Path, content: bytes, says: str
    ) -> None:
        path = tmp_path / "r.rec"
        path.write_bytes(content)
        with pytest.raises(RecordingError, match=says):
            Recording.open(path)

    def test_a_header_without_snapshots_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "r.rec"
        RecordingWriter(path).close()
        with pytest.raises(RecordingError, match="holds no snapshot"):
            Recording.open(path)

    def test_a_killed_writer_leaves_a_readable_file(self, tmp_path: Path) -> None:
        """The real thing: a child process writing frames is killed with SIGKILL."""
        path = tmp_path / "r.rec"
        pid = os.fork()
        if pid == 0:  # the child writes until it is killed
            try:
                writer = RecordingWriter(path)
                second = 0
                while True:
                    writer.snapshot(fleet(second), now=T0 + second)
                    second += 1
            finally:
                os._exit(1)
        try:
            while not path.exists() or path.stat().st_size < 20_000:
                pass
        finally:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        recording = Recording.open(path)
        last = len(recording) - 1
        assert last > 10
        assert recording.snapshot(last) == fleet(last)


class TestRotation:
    def test_a_full_file_moves_to_dot_1_and_a_new_one_starts_whole(self, tmp_path: Path) -> None:
        path = tmp_path / "r.rec"
        seconds = 0
        writer = RecordingWriter(path, max_bytes=MIN_MAX_BYTES)
        while not rotated(path).exists():
            writer.snapshot(fleet(seconds), now=T0 + seconds)
            seconds += 1
        for _ in range(5):
            writer.snapshot(fleet(seconds), now=T0 + seconds)
            seconds += 1
        writer.close()
        old, new = Recording.open(rotated(path)), Recording.open(path)
        assert rotated(path).stat().st_size <= MIN_MAX_BYTES
        assert len(old) + len(new) == seconds  # nothing lost at the seam
        assert new.snapshot(0) == fleet(len(old))  # the new file starts with a keyframe
        assert new.snapshot(len(new) - 1) == fleet(seconds - 1)
        assert frames.scan(path.read_bytes()).frames[1].kind == frames.KEYFRAME

    def test_starting_over_keeps_the_last_recording_as_dot_1(self, tmp_path: Path) -> None:
        path = tmp_path / "r.rec"
        write(path, range(5)).close()
        write(path, range(100, 102)).close()
        assert len(Recording.open(rotated(path))) == 5
        assert Recording.open(path).snapshot(0) == fleet(100)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestPlayer:
    def source(self, tmp_path: Path) -> tuple[ReplaySource, FakeClock]:
        path = tmp_path / "r.rec"
        writer = write(path, range(0, 100))
        writer.event(Event(time=T0 + 50, kind="replica.exited", subject="llama/r0",
                           message="exited"))  # fmt: skip
        writer.close()
        clock = FakeClock()
        return ReplaySource(Recording.open(path), paused=True, clock=clock), clock

    def test_the_clock_moves_at_the_speed_asked(self, tmp_path: Path) -> None:
        source, clock = self.source(tmp_path)
        assert source.position == 0.0 and source.paused
        source.play()
        clock.now += 10
        assert source.position == 10.0
        source.faster()
        source.faster()  # 5x
        clock.now += 4
        assert source.position == 30.0 and source.speed == 5.0
        source.set_speed(1000)
        assert source.speed == 60.0
        clock.now += 100
        assert source.position == 99.0 and source.paused  # stops at the end
        assert source.status() == "0:01:39 / 0:01:39 · 60× · paused"

    def test_step_and_seek(self, tmp_path: Path) -> None:
        source, _ = self.source(tmp_path)
        source.step(3)
        assert source.position == 3.0 and source.paused
        source.step(-10)
        assert source.position == 0.0
        source.seek(42.5)
        assert source.position == 42.5
        source.seek(1e9)
        assert source.position == 99.0

    def test_snapshots_and_events_follow_the_player(self, tmp_path: Path) -> None:
        async def scenario() -> None:
            source, clock = self.source(tmp_path)
            told: list[Event] = []
            source.subscribe(told.append)
            stream = source.snapshots(0.01)
            assert (await anext(stream)) == fleet(0)
            source.seek(49)
            assert (await anext(stream)) == fleet(49)
            assert told == [] and await source.event_history() == ()
            source.step()
            assert (await anext(stream)) == fleet(50)
            assert [e.message for e in told] == ["exited"]
            assert len(await source.event_history("llama")) == 1
            await stream.aclose()

        asyncio.run(scenario())

    def test_every_verb_is_refused(self, tmp_path: Path) -> None:
        source, _ = self.source(tmp_path)
        for verb in (source.stop("llama"), source.start("llama"), source.restart("llama"),
                     source.scale("llama", 2)):  # fmt: skip
            with pytest.raises(UsageError, match="replay of a recording"):
                asyncio.run(verb)


class LiveFleet:
    """A source as the recorder sees FleetIntents: a snapshot stream and events."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []
        self.queue: asyncio.Queue[FleetSnapshot] = asyncio.Queue()

    async def snapshots(self, interval_s: float) -> Any:
        while True:
            yield await self.queue.get()

    def subscribe(self, listener: Any) -> None:
        self.listeners.append(listener)


def test_the_recorder_follows_snapshots_and_events_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "live.rec"
    event = Event(time=T0 + 1.5, kind="replica.exited", subject="llama/r0", message="exited")

    async def scenario() -> None:
        live = LiveFleet()
        async with recording(live, path, fleet="lab", exports={"llama": {"model": "m"}}):
            for second in range(3):
                live.queue.put_nowait(fleet(second))
            for _ in range(500):  # until all three are written (read while it is written)
                await asyncio.sleep(0.01)
                with contextlib.suppress(RecordingError):  # none yet
                    if len(Recording.open(path)) == 3:
                        break
            live.listeners[0](event)
        live.listeners[0](event)  # after the block: not recorded, and no error

    asyncio.run(scenario())
    recorded = Recording.open(path)
    assert [recorded.snapshot(i) for i in range(len(recorded))] == [fleet(0), fleet(1), fleet(2)]
    assert recorded.events == (event,)
    assert recorded.fleet == "lab" and recorded.exports == {"llama": {"model": "m"}}


def test_an_unwritable_place_to_record_is_a_usage_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with recording(LiveFleet(), tmp_path / "no" / "such" / "dir.rec", fleet="lab"):
            raise AssertionError("not reached")

    with pytest.raises(UsageError, match="cannot record to"):
        asyncio.run(scenario())
