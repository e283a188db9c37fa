"""The one background loop: a step run every interval in a task of its own, started and stopped with
the app, kicked to run early, backing off while the database is away, never dying of an error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from dispatch.core.db import TRANSIENT

log = logging.getLogger(__name__)

# A step answers True for "run me again at once" (it left work behind: a full batch).
Step = Callable[[], Awaitable[object]]


class Periodic:
    """Runs `step` every `interval` seconds (measured start to start) until stopped.

    - `kick()` runs it early: the wait ends at once; kicks during a run make one more run.
    - A step that returns True runs again at once (a backlog drains without waiting).
    - A failing step is logged (a transient database error as a warning, anything else with its
      traceback) and retried after a back-off that doubles from `interval` up to
      `max(interval, max_backoff)`; a kick still runs it at once. The loop itself never dies.
    - `delay_first`: wait one interval before the first run (start-up is left to requests).
    - `interval` 0 (or less): never started, unless `kicked_only`, which runs on kicks alone.
    """

    def __init__(
        self,
        name: str,
        step: Step,
        *,
        interval: float,
        delay_first: bool = False,
        kicked_only: bool = False,
        max_backoff: float = 1.0,
    ) -> None:
        self.name = name
        self._step = step
        self._interval = interval
        self._delay_first = delay_first
        self._kicked_only = kicked_only
        self._max_backoff = max(interval, max_backoff)
        self._kicked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # consecutive failed runs

    @property
    def enabled(self) -> bool:
        return self._interval > 0 or self._kicked_only

    def kick(self) -> None:
        """Run soon. Cheap and coalescing; safe from any coroutine or callback of the loop."""
        self._kicked.set()

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if self._delay_first:
            await self._wait(self._interval)
        while True:
            started = time.monotonic()
            again = False
            try:
                again = (await self._step()) is True
                self.failures = 0
            except asyncio.CancelledError:
                raise
            except TRANSIENT as exc:
                self._failed(exc, transient=True)
            except Exception as exc:  # a dead loop would silently stop its job in this process
                self._failed(exc, transient=False)
            if again:
                continue
            if self.failures:
                pause = min(self._interval * 2 ** (self.failures - 1), self._max_backoff)
            else:
                pause = self._interval - (time.monotonic() - started)
            await self._wait(max(pause, 0.0) if self._interval > 0 else None)

    def _failed(self, exc: BaseException, *, transient: bool) -> None:
        self.failures += 1
        if transient:
            log.warning("%s: %s", self.name, type(exc).__name__)
        else:
            log.exception("%s failed", self.name)
        if self._interval <= 0:  # kicked only: do not spin on a kick that keeps failing
            self._kicked.clear()

    async def _wait(self, seconds: float | None) -> None:
        """Until a kick, or `seconds` (None: kicks only). asyncio.timeout, not wait_for: no Task
        per wait."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._kicked.wait()
        self._kicked.clear()
