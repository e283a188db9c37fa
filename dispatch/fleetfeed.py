"""The dispatchers' fleet feed: assistant positions published to topic 'dispatch' at most once a
second per assistant (dispatch.publish_fleet_positions), whatever the rate positions arrive at."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

log = logging.getLogger(__name__)


class FleetFeed:
    """Asks the database to publish moved positions every `interval` seconds.

    Every server process runs one; the SQL function lets one run through per interval across all
    of them (a row lock taken with SKIP LOCKED and the time of the last run), so adding processes
    adds no frames. It polls four times per interval so that runs stay close to `interval` apart."""

    def __init__(self, pool: asyncpg.Pool, *, interval: float) -> None:
        self._pool = pool
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="fleet-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval / 4)
            await self.publish()

    async def publish(self) -> int:
        try:
            count: int = await self._pool.fetchval(
                "SELECT dispatch.publish_fleet_positions(min_interval_s => $1)", self._interval
            )
        # InternalClientError: a connection caught mid-operation by a database restart.
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as exc:
            log.warning("fleet feed skipped a run: %s", type(exc).__name__)
            return 0
        self.published += count
        return count
