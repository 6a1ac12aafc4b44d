"""The simulator's EngineCore and Worker processes, shaped like a real vLLM's.

A real `vllm serve` forks `VLLM::EngineCore`, which starts `VLLM::Worker` processes, all
in the leader's process group. When only the leader dies (SIGKILL, OOM killer), the
EngineCore lives on as an orphan holding its memory, and only killing the whole group
cleans up: fleetdeck's supervisor must do that, and these processes let tests prove it.
The orphaned EngineCore still exits on its own after `orphan_exit_seconds`, a safety net
against leaking processes from a test run. The Worker follows its EngineCore at once,
as vLLM's workers do ("Parent process exited, terminating worker").
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence

ENGINE_CORE_NAME = "VLLM::EngineCore"
WORKER_NAME = "VLLM::Worker"
_POLL_SECONDS = 0.25


def set_process_name(name: str) -> None:
    """What `ps -o comm` shows; the kernel keeps 15 characters, as with setproctitle."""
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass  # not Linux, or /proc not mounted: the name is cosmetic


class EngineCoreProcess:
    """The leader's handle on its EngineCore child; one thread waits for its exit."""

    def __init__(
        self, pid: int, worker_pid: int, on_exit: Callable[[int], None] | None = None
    ) -> None:
        self.pid = pid
        self.worker_pid = worker_pid
        self.exit_code: int | None = None
        self.exited = threading.Event()
        self._on_exit = on_exit
        threading.Thread(target=self._wait, name="engine-core-wait", daemon=True).start()

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self, grace_seconds: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after the grace period; returns the exit code."""
        self._signal(signal.SIGTERM)
        if not self.exited.wait(grace_seconds):
            self._signal(signal.SIGKILL)
            self.exited.wait(grace_seconds)
        return self.exit_code

    def _signal(self, signum: int) -> None:
        if not self.exited.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def _wait(self) -> None:
        while True:
            try:
                _, status = os.waitpid(self.pid, 0)
            except InterruptedError:
                continue
            except ChildProcessError:
                status = 0
            break
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.exited.set()
        if self._on_exit is not None:
            self._on_exit(self.exit_code)


def spawn_engine_core(
    orphan_exit_seconds: float,
    inherited_fds: Sequence[int] = (),
    on_exit: Callable[[int], None] | None = None,
) -> EngineCoreProcess:
    """Fork the EngineCore (which forks its Worker); `inherited_fds` are closed in it.

    `on_exit(exit_code)` runs on a waiting thread when the EngineCore ends. Call this
    before starting any other thread: fork copies only the calling thread.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, measured by integration tests
        code = 0
        try:
            os.close(read_fd)
            for fd in inherited_fds:
                _close_quietly(fd)
            code = _engine_core_main(write_fd, os.getppid(), orphan_exit_seconds)
        finally:
            os._exit(code)
    os.close(write_fd)
    worker_pid = _read_pid(read_fd)
    os.close(read_fd)
    return EngineCoreProcess(pid, worker_pid, on_exit)


def _engine_core_main(report_fd: int, leader_pid: int, orphan_exit_seconds: float) -> int:
    set_process_name(ENGINE_CORE_NAME)
    stopping = _install_stop_handler()
    own_pid = os.getpid()
    worker_pid = os.fork()
    if worker_pid == 0:  # pragma: no cover - the Worker
        try:
            _close_quietly(report_fd)
            set_process_name(WORKER_NAME)
            _install_stop_handler_into(stopping)
            _sleep_while(lambda: not stopping.is_set() and os.getppid() == own_pid)
        finally:
            os._exit(0)
    os.write(report_fd, f"{worker_pid}\n".encode())
    os.close(report_fd)
    orphaned_at: float | None = None
    while not stopping.is_set():
        if _reaped(worker_pid):
            return 1  # a Worker died under us: the engine is dead, as in vLLM
        if orphaned_at is None and os.getppid() != leader_pid:
            orphaned_at = time.monotonic()
        if orphaned_at is not None and time.monotonic() - orphaned_at >= orphan_exit_seconds:
            break
        time.sleep(_POLL_SECONDS)
    _close_worker(worker_pid)
    return 0


def _install_stop_handler() -> threading.Event:
    stopping = threading.Event()
    _install_stop_handler_into(stopping)
    return stopping


def _install_stop_handler_into(stopping: threading.Event) -> None:
    # The leader decides what Ctrl-C means; SIGTERM (a group stop) ends the process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())


def _sleep_while(condition: Callable[[], bool]) -> None:
    while condition():
        time.sleep(_POLL_SECONDS)


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _close_worker(worker_pid: int) -> None:
    try:
        os.kill(worker_pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if _reaped(worker_pid):
            return
        time.sleep(0.02)
    os.kill(worker_pid, signal.SIGKILL)


def _read_pid(fd: int) -> int:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 32)
        if not chunk:
            break
        data += chunk
    return int(data) if data.strip() else 0


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
