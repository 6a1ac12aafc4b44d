"""The recording's bytes: a magic line, then frames, each on its own.

A frame is a 17-byte head — kind (1 byte), payload length (u32), time (f64, seconds
since the epoch), CRC-32 of the payload (u32), big-endian — then the payload: the
frame's JSON, zlib-compressed on its own. Nothing refers to a byte after it, so a
recorder killed mid-write leaves a file that reads up to its last complete frame; the
length and the CRC tell a torn or garbled tail from a frame.

Why zlib per frame: lzma's container costs ~60 bytes a frame, more than most deltas
(benchmarks/record_size.py measures both); zstd is not in the standard library.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAGIC = b"FLEETDECK-RECORDING 1\n"

HEADER = b"H"  # the recording's own facts: format, fleet, when it began
KEYFRAME = b"K"  # a whole snapshot
DELTA = b"D"  # a snapshot as ops against the one before (core/recording/delta.py)
EVENT = b"E"  # one engine event

KINDS = frozenset({HEADER, KEYFRAME, DELTA, EVENT})

_HEAD = struct.Struct(">cIdI")
HEAD_SIZE = _HEAD.size
MAX_PAYLOAD = 256 * 1024 * 1024  # a length beyond this is garbage, not a frame


@dataclass(frozen=True)
class Frame:
    kind: bytes
    time: float
    payload: bytes  # compressed

    def document(self) -> Any:
        return json.loads(zlib.decompress(self.payload))


def encode(kind: bytes, time: float, document: Any) -> bytes:
    """One frame's bytes, written with one write() so that it lands whole or torn."""
    data = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    payload = zlib.compress(data, 6)
    return _HEAD.pack(kind, len(payload), time, zlib.crc32(payload)) + payload


@dataclass(frozen=True)
class Scan:
    frames: tuple[Frame, ...]
    torn_at: int | None  # byte offset where the last complete frame ends, if a tail is bad


def scan(data: bytes) -> Scan:
    """Every complete frame after the magic line (the caller checked it), in order."""
    frames: list[Frame] = []
    offset = len(MAGIC)
    for frame, end in _walk(data, offset):
        if frame is None:
            return Scan(tuple(frames), end)
        frames.append(frame)
    return Scan(tuple(frames), None)


def _walk(data: bytes, offset: int) -> Iterator[tuple[Frame | None, int]]:
    while offset < len(data):
        if offset + HEAD_SIZE > len(data):
            yield None, offset
            return
        kind, length, time, crc = _HEAD.unpack_from(data, offset)
        start = offset + HEAD_SIZE
        payload = data[start : start + length]
        if (
            kind not in KINDS
            or length > MAX_PAYLOAD
            or len(payload) != length
            or zlib.crc32(payload) != crc
        ):
            yield None, offset
            return
        yield Frame(kind, time, payload), start + length
        offset = start + length
