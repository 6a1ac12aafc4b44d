"""The host program's log reader and rotation, on real files: offsets, tails, rotation.

Offsets are logical (they count every byte the log ever held), so a reader that resumes
from an offset taken before a rotation reads the rest of log.1 and then the new log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetdeck.hosts.remote import logs, rotate


def numbered(first: int, last: int) -> bytes:
    return b"".join(b"line seq=%d\n" % n for n in range(first, last + 1))


def append(log_dir: Path, data: bytes) -> None:
    # O_APPEND, as the supervisor's `>>log` gives vLLM.
    fd = os.open(log_dir / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def seqs(records: list[logs.Line]) -> list[int]:
    return [int(text.rsplit("seq=", 1)[1]) for _, text in records if "seq=" in text]


def read_all(reader: logs.LogReader) -> list[logs.Line]:
    out: list[logs.Line] = []
    while True:
        records, more = reader.poll()
        out += records
        if not more:
            return out


def test_offsets_point_just_after_each_line(tmp_path: Path) -> None:
    append(tmp_path, b"a\nbb\n\nccc")
    records = read_all(logs.LogReader(str(tmp_path), 0, tail=0))
    assert records == [
        (2, "a"),
        (5, "bb"),
        (6, ""),
    ]
    append(tmp_path, b"c\n")  # the unfinished line is sent once it ends
    assert read_all(logs.LogReader(str(tmp_path), 6, tail=0)) == [(11, "cccc")]


@pytest.mark.parametrize(("tail", "first"), [(0, None), (1, 10), (3, 8), (10, 1), (50, 1)])
def test_tail_starts_at_the_last_n_lines(tmp_path: Path, tail: int, first: int | None) -> None:
    append(tmp_path, numbered(1, 10))
    found = seqs(read_all(logs.LogReader(str(tmp_path), None, tail)))
    assert found == ([] if first is None else list(range(first, 11)))


def test_rotation_moves_bytes_to_log_1_and_keeps_offsets(tmp_path: Path) -> None:
    append(tmp_path, numbered(1, 100))
    size = (tmp_path / "log").stat().st_size
    assert rotate.rotate(str(tmp_path), max_bytes=size - 1, keep=2)
    assert (tmp_path / "log.1").read_bytes() == numbered(1, 100)
    assert (tmp_path / "log").stat().st_size == 0
    assert rotate.read_base(str(tmp_path)) == size
    append(tmp_path, numbered(101, 120))
    # A reader from the very start reads log.1 then log: one logical stream.
    assert seqs(read_all(logs.LogReader(str(tmp_path), 0, tail=0))) == list(range(1, 121))
    # The last lines span both files.
    assert seqs(read_all(logs.LogReader(str(tmp_path), None, tail=25))) == list(range(96, 121))


def test_under_the_cap_nothing_moves(tmp_path: Path) -> None:
    append(tmp_path, numbered(1, 10))
    assert not rotate.rotate(str(tmp_path), max_bytes=10_000, keep=2)
    assert not (tmp_path / "log.1").exists()


def test_a_reader_resumes_across_rotations_with_no_gap_and_no_repeat(tmp_path: Path) -> None:
    reader = logs.LogReader(str(tmp_path), 0, tail=0)
    seen: list[int] = []
    next_seq = 1
    for _round in range(6):
        append(tmp_path, numbered(next_seq, next_seq + 29))
        next_seq += 30
        records = read_all(reader)
        seen += seqs(records[:10])  # a console reads part of what arrived, then drops
        offset, _ = records[9]
        append(tmp_path, numbered(next_seq, next_seq + 9))
        next_seq += 10
        rotate.rotate(str(tmp_path), max_bytes=1, keep=2)  # while it is away
        reader = logs.LogReader(str(tmp_path), offset, tail=0)  # the resume
        seen += seqs(read_all(reader))
    assert seen == list(range(1, next_seq))
    assert (tmp_path / "log.2").exists() and not (tmp_path / "log.3").exists()


def test_a_line_cut_by_rotation_is_read_whole(tmp_path: Path) -> None:
    append(tmp_path, b"first seq=1\nsecond half-writ")
    reader = logs.LogReader(str(tmp_path), 0, tail=0)
    assert seqs(read_all(reader)) == [1]
    rotate.rotate(str(tmp_path), max_bytes=1, keep=2)
    append(tmp_path, b"ten seq=2\n")
    assert read_all(reader) == [(38, "second half-written seq=2")]


def test_bytes_rotated_away_unread_are_announced_once(tmp_path: Path) -> None:
    reader = logs.LogReader(str(tmp_path), 0, tail=0)
    for first in (1, 11, 21, 31):  # four rotations, two files kept
        append(tmp_path, numbered(first, first + 9))
        rotate.rotate(str(tmp_path), max_bytes=1, keep=2)
    append(tmp_path, numbered(41, 45))
    records = read_all(reader)
    lost = len(numbered(1, 20))
    assert records[0] == (lost, f"[fleetdeck] {lost} bytes of this log were rotated away unread")
    assert seqs(records) == list(range(21, 46))


def test_a_truncation_by_someone_else_restarts_at_the_top(tmp_path: Path) -> None:
    append(tmp_path, numbered(1, 50))
    reader = logs.LogReader(str(tmp_path), None, tail=0)
    (tmp_path / "log").write_bytes(numbered(1, 3))  # `> log` by hand: no rotate.py
    records = read_all(reader)
    _, text = records[0]
    assert "truncated" in text
    assert seqs(records) == [1, 2, 3]


def test_long_lines_come_in_pieces_with_exact_offsets(tmp_path: Path) -> None:
    long = b"x" * (logs.MAX_LINE * 2 + 100)
    append(tmp_path, long + b"\nshort seq=1\n")
    records = read_all(logs.LogReader(str(tmp_path), 0, tail=0))
    assert [len(text) for _, text in records] == [logs.MAX_LINE, logs.MAX_LINE, 100, 11]
    assert [offset for offset, _ in records] == [
        logs.MAX_LINE,
        2 * logs.MAX_LINE,
        len(long) + 1,
        len(long) + 13,
    ]
    # Resuming from a piece's offset continues with the next piece.
    again = read_all(logs.LogReader(str(tmp_path), logs.MAX_LINE, tail=0))
    assert again == records[1:]


def test_stream_reports_a_removed_replica(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = {"state_dir": str(tmp_path), "deployment": "d", "replica": "gone"}
    assert logs.stream(request) == 1
    assert json.loads(capsys.readouterr().out) == {"error": "no replica d/gone"}


WRITER = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
n = 0
while not os.path.exists(sys.argv[2]):
    n += 1
    os.write(fd, b"busy seq=%d\\n" % n)
print(n)
"""


def collapse_supported(directory: Path) -> bool:
    probe = directory / "collapse-probe"
    probe.write_bytes(b"x" * 65536)
    fd = os.open(probe, os.O_RDWR)
    try:
        block = os.fstatvfs(fd).f_bsize
        return rotate.collapse_head(fd, block) and os.fstat(fd).st_size == 65536 - block
    finally:
        os.close(fd)
        probe.unlink()


@pytest.fixture(params=["collapse", "copy-truncate"])
def log_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A directory on a filesystem that can collapse a range (ext4, xfs), or on tmpfs."""
    if request.param == "collapse":
        if not collapse_supported(tmp_path):
            pytest.skip(f"{tmp_path} cannot collapse a range (not ext4/xfs)")
        yield tmp_path
        return
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.skip("no /dev/shm (tmpfs) here")
    directory = Path(tempfile.mkdtemp(dir=shm, prefix="fleetdeck-test-"))
    try:
        if collapse_supported(directory):
            pytest.skip("/dev/shm can collapse a range here: no copy-truncate to test")
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_rotation_under_a_busy_writer(log_dir: Path, request: pytest.FixtureRequest) -> None:
    """A writer process appending flat out (~10^5 lines/s) while 30 rotations run.

    No line comes twice or out of order. With collapse no line is lost; with
    copy-truncate lines can be lost only in its window (rotate.py), so every gap must sit
    at a rotation's boundary: a base that a rotation recorded.
    """
    tmp_path = log_dir
    append(tmp_path, b"")
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "log"), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    reader = logs.LogReader(str(tmp_path), 0, tail=0)
    seen: list[tuple[int, int]] = []  # (offset after the line, seq)
    boundaries = set()

    def drain() -> None:
        seen.extend((offset, int(text.rsplit("=", 1)[1])) for offset, text in read_all(reader))

    try:
        while len(boundaries) < 30:
            drain()
            if rotate.rotate(str(tmp_path), max_bytes=8192, keep=2):
                boundaries.add(rotate.read_base(str(tmp_path)))
    finally:
        stop.touch()
        written = int(writer.communicate(timeout=10)[0])
    drain()
    numbers = [seq for _offset, seq in seen]
    assert numbers == sorted(set(numbers)), "no line twice, none out of order"
    assert numbers[0] == 1 and numbers[-1] == written
    gaps = [
        (before, after)
        for before, after in zip(seen, seen[1:], strict=False)
        if after[1] != before[1] + 1
    ]
    if request.node.callspec.params["log_dir"] == "collapse":
        assert gaps == [], f"collapse loses nothing; lost {gaps}"
    # The lost bytes may end mid-line: then the rest of that line's head (in log.1) joins
    # the next line, so the boundary lies at or inside the line after the gap.
    assert all(
        any(before[0] <= boundary < after[0] for boundary in boundaries) for before, after in gaps
    ), gaps


def test_rotation_keeps_every_byte_in_order(log_dir: Path, request: pytest.FixtureRequest) -> None:
    original = numbered(1, 1000)  # ~13 KB: several blocks
    append(log_dir, original)
    assert rotate.rotate(str(log_dir), max_bytes=1, keep=2)
    head = (log_dir / "log.1").read_bytes()
    assert head + (log_dir / "log").read_bytes() == original
    assert rotate.read_base(str(log_dir)) == len(head)
    if request.node.callspec.params["log_dir"] == "collapse":
        # Whole blocks moved in place; the rest (a partial block) stays in log.
        assert len(head) % os.statvfs(log_dir).f_bsize == 0 and 0 < len(head) < len(original)
    else:
        assert head == original
    assert seqs(read_all(logs.LogReader(str(log_dir), 0, tail=0))) == list(range(1, 1001))
