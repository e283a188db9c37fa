"""Background jobs over time, run by every server process: due bookings, supply samples and
position history partitions. Each SQL function is safe with any number of concurrent callers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from dispatch import bookings
from dispatch.config import TimeSettings

log = logging.getLogger(__name__)

# InternalClientError: a connection caught mid-operation by a database restart.
_FAILURES = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    TimeoutError,
)


class TimeKeeper:
    """Three periodic jobs on one pool. A job that fails is logged and retried at its next turn:
    bookings stay scheduled until a conversion commits, partitions until maintenance succeeds."""

    def __init__(self, pool: asyncpg.Pool, settings: TimeSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
            ("bookings", self._settings.booking_poll_s, self.activate_bookings),
            ("supply-samples", self._settings.supply_sample_s, self.sample_supply),
            ("history-partitions", self._settings.history_maintenance_s, self.maintain_history),
        ]
        for name, interval, job in jobs:
            if interval > 0:
                self._tasks.append(asyncio.create_task(self._every(name, interval, job), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def activate_bookings(self) -> int:
        """Convert due bookings in batches, one transaction each, until none is left."""
        total = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                handled = await bookings.activate_due(conn, batch=20)
            total += handled
            if handled < 20:
                return total

    async def sample_supply(self) -> bool:
        sampled: bool = await self._pool.fetchval(
            "SELECT dispatch.sample_supply(min_interval_s => $1)",
            self._settings.supply_sample_s * 0.8,
        )
        return sampled

    async def maintain_history(self) -> object:
        result = await self._pool.fetchval("SELECT dispatch.maintain_position_history()")
        if result and (result["created"] or result["dropped"]):
            log.info(
                "position history partitions",
                extra={"fields": {"created": result["created"], "dropped": result["dropped"]}},
            )
        return result

    async def _every(
        self, name: str, interval: float, job: Callable[[], Awaitable[object]]
    ) -> None:
        while True:
            started = time.monotonic()
            try:
                await job()
            except _FAILURES as exc:
                log.warning("%s job failed: %s", name, type(exc).__name__)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
