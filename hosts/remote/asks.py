"""`watch`'s stdin: the request on its first line, then one line per ask for an
observation now (hosts/watch_asks.py sends them). Read straight from the descriptor with
select, so that waiting for an ask and sleeping until the next observation are one wait,
and Python's own buffering never hides a line that has arrived."""

from __future__ import annotations

import os
import select
import time
from typing import List, Optional


class StdinLines:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.closed = False  # EOF: no ask can come any more

    def _fill(self, timeout: Optional[float]) -> None:
        if self.closed:
            if timeout:
                time.sleep(timeout)
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            data = os.read(self.fd, 65536)
            if data:
                self.buffer += data
            else:
                self.closed = True

    def first_line(self) -> str:
        """The request: blocks until its line (or EOF) has come."""
        while b"\n" not in self.buffer and not self.closed:
            self._fill(None)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def wait(self, timeout: float) -> bool:
        """Up to `timeout` seconds for an ask; True at once when one is waiting."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._fill(left)
        return True

    def take(self) -> List[str]:
        """The asks that have come (their tokens), now answered by the next observation."""
        self._fill(0)
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode().strip() for line in lines if line.strip()]
