"""The accepted job's ETA kept fresh as its assistant drives (SQL in etas.sql)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from dispatch.core.periodic import Periodic


class EtaRefresher(Periodic):
    """Calls dispatch.refresh_etas every `interval` seconds. Every server process runs one: the
    function takes due jobs with SKIP LOCKED, so each job's ETA is recomputed (and its `eta`
    frame sent) by one of them; a full batch runs again at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval: float,
        batch: int = 100,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("eta-refresher", self.refresh, interval=interval)
        self._pool = pool
        self._batch = batch
        self._on_change = on_change

    async def refresh(self) -> bool:
        """One pass; True when it found a full batch (more may be due)."""
        changed: int = await self._pool.fetchval(
            "SELECT dispatch.refresh_etas(max_jobs => $1)", self._batch
        )
        if changed and self._on_change is not None:
            self._on_change()
        return changed >= self._batch
