"""The dispatchers' fleet feed: assistant positions published to topic 'dispatch' at most once a
second per assistant (dispatch.publish_fleet_positions), whatever the rate positions arrive at."""

from __future__ import annotations

import asyncpg

from dispatch.core.periodic import Periodic


class FleetFeed(Periodic):
    """Asks the database to publish moved positions every `interval` seconds.

    Every server process runs one; the SQL function lets one run through per interval across all
    of them (a row lock taken with SKIP LOCKED and the time of the last run), so adding processes
    adds no frames. It polls four times per interval so that runs stay close to `interval` apart."""

    def __init__(self, pool: asyncpg.Pool, *, interval: float) -> None:
        super().__init__("fleet-feed", self.publish, interval=interval / 4, delay_first=True)
        self._pool = pool
        self._min_interval = interval
        self.published = 0

    async def publish(self) -> int:
        count: int = await self._pool.fetchval(
            "SELECT dispatch.publish_fleet_positions(min_interval_s => $1)", self._min_interval
        )
        self.published += count
        return count
