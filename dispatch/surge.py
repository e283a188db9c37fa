"""Keeps the idle-supply snapshot (dispatch.cell_supply) that surge pricing reads fresh."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

log = logging.getLogger(__name__)


class SupplyRefresher:
    """Calls dispatch.refresh_cell_supply() every `interval` seconds. Every server process runs
    one; the function itself makes sure only one of them re-counts per interval."""

    def __init__(self, pool: asyncpg.Pool, *, interval: float) -> None:
        self._pool = pool
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="supply-refresher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> bool:
        refreshed: bool = await self._pool.fetchval(
            "SELECT dispatch.refresh_cell_supply(min_interval_s => $1)", self._interval * 0.8
        )
        return refreshed

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # Pricing falls back to live counts once the snapshot is stale.
                log.warning("supply snapshot not refreshed: %s", type(exc).__name__)
            await asyncio.sleep(self._interval)
