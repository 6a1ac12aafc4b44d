"""How big a recording gets: one hour of 20 hosts x 4 replicas, and what each choice
of the format (deltas, keyframe interval, codec) costs.

The fleet: 20 deployments of 4 replicas on 20 hosts of 4 GPUs (80 replicas), every
field the console draws filled in (benchmarks/_console_fleet.py): 120-point sparkline
histories, GPU temperatures, utilisation, power, host load and network, each moving
every tick. The engine reads hosts and /metrics every METRICS_INTERVAL_S (2 s), and the
recorder takes a snapshot a second, so the readings move every other snapshot while
the time taken moves every one. One event a minute. That is a busier fleet than most:
every GPU's temperature and power change at every reading.

Synthesising an hour takes a minute or two; `--minutes N` records N minutes and scales
up (the size grows linearly: a keyframe a minute, deltas in between).

    .venv/bin/python benchmarks/record_size.py [--minutes 60]
"""

from __future__ import annotations

import argparse
import lzma
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._console_fleet import build_fleet  # noqa: E402
from fleetdeck.core.fleet.events import Event  # noqa: E402
from fleetdeck.core.metrics.ring import SPARKLINE_POINTS  # noqa: E402
from fleetdeck.core.recording import frames  # noqa: E402
from fleetdeck.core.recording.reader import Recording  # noqa: E402
from fleetdeck.core.recording.writer import RecordingWriter  # noqa: E402

HOSTS, GPUS, DEPLOYMENTS, REPLICAS = 20, 4, 20, 4
READING_EVERY_S = 2


def snapshots(seconds: int):  # type: ignore[no-untyped-def]
    for second in range(seconds):
        tick = second // READING_EVERY_S
        fleet = build_fleet(DEPLOYMENTS, HOSTS, GPUS, tick=tick, replicas=lambda d: REPLICAS)
        yield second, fleet.model_copy(update={"taken_at": 1000.0 + second})


def record(path: Path, seconds: int, keyframe_every_s: float) -> tuple[int, float]:
    """The file's size, and the seconds spent in the writer (what the engine's loop pays:
    dump, diff, compress, write), not in synthesising the snapshots."""
    took = 0.0
    writer = RecordingWriter(path, max_bytes=1 << 40, keyframe_every_s=keyframe_every_s)
    for second, snapshot in snapshots(seconds):
        started = time.perf_counter()
        writer.snapshot(snapshot, now=1000.0 + second)
        took += time.perf_counter() - started
        if second % 60 == 30:
            writer.event(Event(time=1000.0 + second, kind="replica.started",
                               subject=f"dep-{second % 20:03d}/r1",
                               message="started on gpu-03 port 8101 (scale up)"))  # fmt: skip
    writer.close()
    return path.stat().st_size, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    seconds = int(args.minutes * 60)
    scale = 3600 / seconds
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.rec"
        size, took = record(path, seconds, 60.0)
        rows.append(("format as shipped: zlib frames, keyframe/60 s", size * scale,
                     f"{took / seconds * 1000:.1f} ms/snapshot to write"))  # fmt: skip
        opened = time.perf_counter()
        recording = Recording.open(path)
        middle = recording.snapshot_at(recording.start + seconds / 2)
        seek_ms = (time.perf_counter() - opened) * 1000
        assert len(middle.deployments) == DEPLOYMENTS
        # The same frames, each compressed by lzma instead (its container included).
        plain = [zlib.decompress(f.payload) for f in frames.scan(path.read_bytes()).frames]
        began = time.perf_counter()
        for data in plain:
            zlib.compress(data, 6)
        zlib_ms = (time.perf_counter() - began) * 1000 / len(plain)
        began = time.perf_counter()
        as_lzma = len(frames.MAGIC) + sum(frames.HEAD_SIZE + len(lzma.compress(d)) for d in plain)
        lzma_ms = (time.perf_counter() - began) * 1000 / len(plain)
        rows[0] = (*rows[0][:2], f"{rows[0][2]}; zlib {zlib_ms:.2f} ms/frame")
        rows.append(("lzma frames, keyframe/60 s", as_lzma * scale, f"lzma {lzma_ms:.2f} ms/frame"))
        for every in (10.0, 300.0):
            size_k, _ = record(Path(tmp) / f"k{every}.rec", seconds, every)
            rows.append((f"zlib frames, keyframe/{every:.0f} s", size_k * scale, ""))
    # What the same snapshots cost without deltas, raw and per codec (one in 60 sampled).
    raw = zl = xz = 0
    sampled = 0
    for second, snapshot in snapshots(seconds):
        if second % 60:
            continue
        data = snapshot.model_dump_json().encode()
        raw += len(data)
        zl += len(zlib.compress(data, 6))
        xz += len(lzma.compress(data))
        sampled += 1
    rows.append(("every snapshot whole, uncompressed JSON", raw * 3600 / sampled, ""))
    rows.append(("every snapshot whole, zlib", zl * 3600 / sampled, ""))
    rows.append(("every snapshot whole, lzma", xz * 3600 / sampled, ""))
    print(f"one hour, {HOSTS} hosts x {REPLICAS} replicas per host "
          f"({DEPLOYMENTS * REPLICAS} replicas, {SPARKLINE_POINTS}-point sparklines), "
          f"a snapshot a second; measured over {args.minutes:g} min")  # fmt: skip
    print(f"{'format':<48} {'MB/hour':>9}  note")
    for name, size_h, note in rows:
        print(f"{name:<48} {size_h / 1e6:>9.1f}  {note}")
    print(f"open + seek to the middle: {seek_ms:.0f} ms")


if __name__ == "__main__":
    main()
