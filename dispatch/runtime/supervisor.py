"""The `dispatch serve --workers N` supervisor: keeps N worker processes alive on one port."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence

from dispatch.runtime.drain_barrier import DrainBarrier

log = logging.getLogger("dispatch.supervisor")

BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 30.0
STARTUP_S = 5.0
_PR_SET_PDEATHSIG = 1  # a worker that lived this long resets its slot's back-off


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the supervisor dies (even of SIGKILL), so no
    orphaned worker keeps serving the port (Linux; elsewhere the worker simply lives on)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """Starts `count` copies of `cmd`; a worker that dies while the supervisor is not stopping is
    logged and replaced after a back-off that doubles while replacements keep dying young (so a
    worker that cannot start does not spin the CPU). SIGTERM/SIGINT are passed on to every worker
    and the supervisor exits with the largest of their exit codes."""

    def __init__(self, cmd: Sequence[str], count: int) -> None:
        self._cmd = list(cmd)
        self._stopping = False
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._started = [0.0] * count
        self._backoff = [BACKOFF_MIN_S] * count
        self._due = [0.0] * count  # when a dead slot may be restarted
        self._born = time.monotonic()
        self._failed = 0  # exit code of a worker that could not start: the supervisor gives up
        self.pids: list[int] = []  # every worker ever started (metrics drop their live gauges)
        # On SIGTERM no worker closes its sockets before every worker's requests are done.
        self._barrier = DrainBarrier()
        self._env = {**os.environ, **self._barrier.env()}

    def _start(self, slot: int) -> subprocess.Popen[bytes]:
        proc = self._procs[slot] = subprocess.Popen(  # noqa: S603
            self._cmd,
            preexec_fn=_die_with_parent,
            env=self._env,
            pass_fds=(self._barrier.write_fd,),
        )
        self._started[slot] = time.monotonic()
        self.pids.append(proc.pid)
        return proc

    def stop(self, _signum: int = 0, _frame: object = None) -> None:
        self._stopping = True
        for proc in self._procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for slot in range(len(self._procs)):
            self._start(slot)
        self._barrier.watch(self._procs)  # the same list: replacements are watched too
        while not self._stopping:
            self._check()
            time.sleep(0.2)
        # A worker still starting when asked to stop dies of the SIGTERM itself: as asked.
        codes = [proc.wait() for proc in self._procs if proc is not None]
        codes = [0 if code == -signal.SIGTERM else abs(code) for code in codes]
        return max([*codes, self._failed])

    def _check(self) -> None:
        now = time.monotonic()
        for slot, proc in enumerate(self._procs):
            if proc is None:
                if now >= self._due[slot] and not self._stopping:
                    new = self._start(slot)
                    log.warning("worker replaced (slot %d, new pid %d)", slot, new.pid)
                continue
            code = proc.poll()
            if code is None or self._stopping:
                continue
            lived = now - self._started[slot]
            if code > 0 and now - self._born < STARTUP_S:
                # A worker that exits on its own right at start-up (a taken port, a bad setting)
                # would fail again: stop, so the error is seen rather than retried forever.
                log.error("worker pid %d failed at start-up (code %d); stopping", proc.pid, code)
                self._failed = code
                self._procs[slot] = None
                self.stop()
                return
            if lived >= STABLE_S:
                self._backoff[slot] = BACKOFF_MIN_S
            delay = self._backoff[slot]
            self._backoff[slot] = min(BACKOFF_MAX_S, delay * 2)
            self._procs[slot] = None
            self._due[slot] = now + delay
            log.error(
                "worker pid %d exited with %s after %.1f s; restarting in %.1f s",
                proc.pid,
                f"signal {-code}" if code < 0 else f"code {code}",
                lived,
                delay,
            )
