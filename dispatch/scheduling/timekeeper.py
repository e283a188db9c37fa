"""Background jobs over time, run by every server process: due bookings, supply samples and
position history partitions. Each SQL function is safe with any number of concurrent callers."""

from __future__ import annotations

import logging

import asyncpg

from dispatch.core.config import TimeSettings
from dispatch.core.periodic import Periodic
from dispatch.scheduling import bookings

log = logging.getLogger(__name__)


class TimeKeeper:
    """Three periodic jobs on one pool. A job that fails is logged and retried at its next turn:
    bookings stay scheduled until a conversion commits, partitions until maintenance succeeds."""

    def __init__(self, pool: asyncpg.Pool, settings: TimeSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._jobs = [
            Periodic("bookings", self.activate_bookings, interval=settings.booking_poll_s),
            Periodic("supply-samples", self.sample_supply, interval=settings.supply_sample_s),
            Periodic(
                "history-partitions", self.maintain_history, interval=settings.history_maintenance_s
            ),
        ]

    async def start(self) -> None:
        for job in self._jobs:
            await job.start()

    async def stop(self) -> None:
        for job in self._jobs:
            await job.stop()

    async def activate_bookings(self) -> int:
        """Convert due bookings in batches, one transaction each, until none is left."""
        total = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                handled = await bookings.activate_due(conn, batch=20)
            total += handled
            if handled < 20:
                return total

    async def sample_supply(self) -> None:
        """One sample per interval across processes (the function skips a run too soon after
        another's)."""
        await self._pool.execute(
            "SELECT dispatch.sample_supply(min_interval_s => $1)",
            self._settings.supply_sample_s * 0.8,
        )

    async def maintain_history(self) -> object:
        result = await self._pool.fetchval("SELECT dispatch.maintain_position_history()")
        if result and (result["created"] or result["dropped"]):
            log.info(
                "position history partitions",
                extra={"fields": {"created": result["created"], "dropped": result["dropped"]}},
            )
        return result
