"""Loopback addresses and TCP ports for simulated hosts, safe under pytest-xdist.

Every simulated host is a real sshd on this one machine, and the vLLM replicas that
fleetdeck launches "on" any of them all bind here too. So two things must never
collide, not between hosts of one fleet, not between xdist workers, and not between
two pytest runs started side by side:

* **Slots.** The port space 20000..32767 (kept below the kernel's ephemeral range, so
  ports that the OS hands out for ``bind(0)`` and outgoing connections never land in
  it) is cut into slots of ``SLOT_SIZE`` ports. A process owns a slot for its whole
  life by binding an abstract unix socket named after it (``@fleetdeck-tests-slot-W``):
  exclusive, atomic, nothing written to disk, and released by the kernel when the
  process dies, even on SIGKILL. The first slot tried is derived from
  ``PYTEST_XDIST_WORKER`` (gw0 -> 1, gw1 -> 2, ...) or, outside xdist, from the pid;
  a slot already owned by someone else is skipped.
* **Addresses.** Host N of a fleet (1-based) listens on ``127.0.W.N`` where W is the
  slot number, so addresses from different processes are distinct too and log lines
  say which worker a host belongs to. All of 127/8 reaches loopback on Linux.
* **Ports.** Inside its slot a process hands out ports with a cursor that wraps
  around: each simulated host takes one port for its sshd and a contiguous block of
  ``REPLICA_PORTS_PER_HOST`` ports for its replicas (its inventory ``port_range``).
  Every port handed out is checked free by binding ``0.0.0.0:port`` first, which
  fails if anything at all holds that port on any address, so leftovers from an
  earlier test (a replica still exiting, a TIME_WAIT socket) are skipped, not reused.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path

BASE_PORT = 20000
SLOT_SIZE = 1000
REPLICA_PORTS_PER_HOST = 20
MAX_SLOTS = 12
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def slot_count() -> int:
    """How many slots fit between BASE_PORT and the start of the ephemeral range."""
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(1, min(MAX_SLOTS, (low - BASE_PORT) // SLOT_SIZE))


def preferred_slot(worker: str | None, pid: int, slots: int) -> int:
    """The slot this process tries first: xdist worker gwK -> K+1, else from the pid."""
    if worker and worker.startswith("gw") and worker[2:].isdigit():
        return int(worker[2:]) % slots + 1
    return pid % slots + 1


def port_is_free(port: int) -> bool:
    """True when nothing on this machine holds ``port`` on any address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # No SO_REUSEADDR on purpose: a TIME_WAIT leftover counts as busy.
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class SlotAllocator:
    """Addresses and ports from the one slot this process owns."""

    def __init__(self, slot: int, lock: socket.socket) -> None:
        self.slot = slot
        self._lock_socket = lock  # kept open: closing it gives the slot away
        self._first = BASE_PORT + (slot - 1) * SLOT_SIZE
        self._end = self._first + SLOT_SIZE
        self._cursor = self._first
        self._mutex = threading.Lock()

    @property
    def ports(self) -> range:
        """Every port this slot may hand out."""
        return range(self._first, self._end)

    def address(self, host_number: int) -> str:
        """Loopback address of the host numbered ``host_number`` (1-based)."""
        if not 1 <= host_number <= 254:
            raise ValueError(f"host number {host_number} outside 1..254")
        return f"127.0.{self.slot}.{host_number}"

    def take_block(self, count: int) -> tuple[int, int]:
        """A contiguous run of ``count`` free ports, as (first, last), both inclusive."""
        with self._mutex:
            scanned = 0
            while scanned < SLOT_SIZE:
                if self._cursor + count > self._end:
                    scanned += self._end - self._cursor
                    self._cursor = self._first
                    continue
                start = self._cursor
                busy = next((p for p in range(start, start + count) if not port_is_free(p)), None)
                if busy is None:
                    self._cursor = start + count
                    return start, start + count - 1
                scanned += busy + 1 - start
                self._cursor = busy + 1
        raise RuntimeError(
            f"no {count} consecutive free ports left in test slot {self.slot} "
            f"({self._first}..{self._end - 1}): stop leftover sshd/vLLM processes"
        )

    def take_port(self) -> int:
        """One free port."""
        return self.take_block(1)[0]


def _claim_slot(slot: int) -> socket.socket | None:
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        claim.bind(f"\0fleetdeck-tests-slot-{slot}")
    except OSError:
        claim.close()
        return None
    return claim


_allocator: SlotAllocator | None = None
_allocator_mutex = threading.Lock()


def slot_allocator() -> SlotAllocator:
    """This process's allocator; claims a slot on first use."""
    global _allocator
    with _allocator_mutex:
        if _allocator is None:
            slots = slot_count()
            first = preferred_slot(os.environ.get("PYTEST_XDIST_WORKER"), os.getpid(), slots)
            for offset in range(slots):
                slot = (first - 1 + offset) % slots + 1
                claim = _claim_slot(slot)
                if claim is not None:
                    _allocator = SlotAllocator(slot, claim)
                    break
            else:
                raise RuntimeError(
                    f"all {slots} test port slots are owned by other running test "
                    "processes: wait for them to finish"
                )
        return _allocator
