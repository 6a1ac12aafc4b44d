"""The host program's whole-or-absent writers (hosts/remote/records.py), on a real full
filesystem (a small tmpfs, as root) and with short writes forced."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetdeck.hosts.remote import records
from tests.faults.tmpfs import fill, small_tmpfs


@pytest.fixture
def full_dir(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "small", "256k") as where:
        (where / "kept").write_text("old\n")
        fill(where)
        yield where


def test_write_atomic_on_a_full_disk_keeps_the_old_file_and_leaves_no_temp(
    full_dir: Path,
) -> None:
    with pytest.raises(OSError):
        records.write_atomic(str(full_dir / "kept"), "new\n" * 10_000)
    assert (full_dir / "kept").read_text() == "old\n"
    assert list(full_dir.glob("*.tmp")) == []


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "pgid"
    records.write_atomic(str(target), "12\n", 0o600)
    records.write_atomic(str(target), "34\n", 0o600)
    assert target.read_text() == "34\n" and target.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.glob("*.tmp")) == []


def test_an_append_that_does_not_fit_leaves_nothing(full_dir: Path) -> None:
    log = full_dir / "kept"
    assert not records.append_lines(str(log), ["x" * 100_000])
    assert log.read_text() == "old\n"


def test_a_short_write_is_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "log"
    log.write_text("one\n")
    real_write = os.write

    def half(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(records.os, "write", half)
    assert not records.append_lines(str(log), ["two", "three"])
    assert log.read_text() == "one\n"


def test_a_record_another_writer_added_meanwhile_is_never_taken_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    log.write_text("one\n")
    real_write = os.write

    def half_then_a_note(fd: int, data: bytes) -> int:
        written = real_write(fd, data[: len(data) // 2])
        with log.open("a") as other:  # the supervisor's note lands after our cut bytes
            other.write("note\n")
        return written

    monkeypatch.setattr(records.os, "write", half_then_a_note)
    assert not records.append_lines(str(log), ["two", "three"])
    assert log.read_text().endswith("note\n")


def test_the_pump_writes_lines_whole_or_not_and_says_how_many_it_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    pump = records.LogPump(fd)
    real_write = os.write
    full = [False]

    def write(target: int, data: bytes) -> int:
        if full[0]:
            return real_write(target, data[:3])  # cut part-way, as a filling disk does
        return real_write(target, data)

    monkeypatch.setattr(records.os, "write", write)
    pump.deliver(b"a seq=1\n")
    full[0] = True
    pump.deliver(b"b seq=2\nc seq=3\n")
    full[0] = False
    pump.deliver(b"d seq=4\n")
    os.close(fd)
    lines = log.read_text().splitlines()
    assert lines[0] == "a seq=1" and lines[2] == "d seq=4"
    assert lines[1].startswith("[fleetdeck] ") and lines[1].endswith(
        " 2 log lines dropped: no space left in the state dir"
    )


def test_the_pump_joins_a_line_split_across_reads(tmp_path: Path) -> None:
    log = tmp_path / "log"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    read_end, write_end = os.pipe()
    os.write(write_end, b"first half")
    os.write(write_end, b" and the rest\nlast without newline")
    os.close(write_end)
    records.LogPump(fd).pump(read_end)
    os.close(fd)
    os.close(read_end)
    assert log.read_text() == "first half and the rest\nlast without newline\n"


def test_low_space_names_the_state_dir(full_dir: Path, tmp_path: Path) -> None:
    reason = records.low_space(str(full_dir))
    assert reason is not None and str(full_dir) in reason and "free of" in reason
    with small_tmpfs(tmp_path / "roomy", "4m") as roomy:
        assert records.low_space(str(roomy)) is None
