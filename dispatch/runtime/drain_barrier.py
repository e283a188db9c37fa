"""The drain barrier of `dispatch serve --workers N`: no worker closes its sockets before every
worker has finished its in-flight requests (their events are for every worker's sockets)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading

# The pipe a draining worker writes its pid to; the supervisor answers SIGUSR2 once all have.
DRAIN_FD_ENV = "DISPATCH_DRAIN_FD"


class DrainBarrier:
    """Created before the workers start (they inherit the write end of the pipe)."""

    def __init__(self) -> None:
        self._read, self.write_fd = os.pipe()
        self._procs: list[subprocess.Popen[bytes] | None] = []
        self._thread = threading.Thread(target=self._run, name="drain-barrier", daemon=True)

    def env(self) -> dict[str, str]:
        return {DRAIN_FD_ENV: str(self.write_fd)}

    def watch(self, procs: list[subprocess.Popen[bytes] | None]) -> None:
        """Watch `procs`, a list the supervisor keeps up to date (None: a slot being restarted)."""
        self._procs = procs
        self._thread.start()

    def _run(self) -> None:
        reported: set[int] = set()
        buffer = b""
        while True:
            ready, _, _ = select.select([self._read], [], [], 0.2)
            if ready:
                buffer += os.read(self._read, 4096)
                *lines, buffer = buffer.split(b"\n")
                reported |= {int(line) for line in lines if line.strip().isdigit()}
            alive = [p for p in self._procs if p is not None and p.poll() is None]
            if not alive:
                continue  # every worker is being replaced: wait for the new ones
            # Everyone still running has reported (the dead need no waiting for): release them.
            if reported and all(p.pid in reported for p in alive):
                for p in alive:
                    p.send_signal(signal.SIGUSR2)
                reported.clear()
                # Dropping the reported ones lets a worker draining twice (never, today) still work.
