"""Log lines in vLLM's formats, each ending with ` seq=N`.

Every line the simulator writes, on stdout or stderr, carries one process-wide sequence
number, so a test that streams a replica's log can prove it lost or repeated nothing.
Each line is one `os.write` of the whole line, made under a lock: lines never interleave
and nothing waits in a Python buffer when the process is killed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable

STDOUT = 1
STDERR = 2


def vllm_timestamp(now: float) -> str:
    """vLLM's logger date format: `11-22 02:55:13` (local time)."""
    return time.strftime("%m-%d %H:%M:%S", time.localtime(now))


class LogWriter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seq = 0

    @property
    def last_seq(self) -> int:
        return self._seq

    def lines(self, texts: Iterable[str], fd: int = STDOUT) -> None:
        """Write several lines back to back (a traceback stays in one piece)."""
        with self._lock:
            for text in texts:
                self._seq += 1
                _write_all(fd, f"{text} seq={self._seq}\n".encode())

    def line(self, text: str, fd: int = STDOUT) -> None:
        self.lines((text,), fd)

    def prefix(self, process: str, pid: int, level: str, where: str) -> str:
        """`(APIServer pid=12) INFO 11-22 02:55:13 [api_utils.py:286]`, as vLLM writes it."""
        return f"({process} pid={pid}) {level} {vllm_timestamp(self._clock())} [{where}]"

    def vllm(self, process: str, pid: int, level: str, where: str, *messages: str) -> None:
        """One vLLM logger line per message, all with the same prefix."""
        head = self.prefix(process, pid, level, where)
        self.lines(f"{head} {message}" for message in messages)

    def uvicorn(self, message: str) -> None:
        """uvicorn's own lines: `INFO:     Application startup complete.`"""
        self.line(f"INFO:     {message}")


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            written = os.write(fd, data)
            data = data[written:]
    except OSError:
        # Whoever read our output has gone (closed pipe, full disk): keep serving.
        pass
