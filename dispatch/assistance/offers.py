"""Offer rounds: decline, and the round driver every server process runs (SQL in offers.sql)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from dispatch.core.periodic import Periodic


async def decline(
    conn: asyncpg.Connection, *, assistance_id: int, assistant_id: int
) -> dict[str, Any]:
    """The assistant declines its open offer; the next round starts at once if nobody is left."""
    result: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.decline_offer(assistance_id => $1, assistant_id => $2)",
        assistance_id,
        assistant_id,
    )
    return result


async def advance(conn: asyncpg.Connection | asyncpg.Pool, *, max_requests: int) -> int:
    """One driver pass: due rounds advanced, running rounds offered to arrivals. Changed count."""
    changed: int = await conn.fetchval(
        "SELECT dispatch.advance_offer_rounds(max_requests => $1)", max_requests
    )
    return changed


class OfferDriver(Periodic):
    """Calls dispatch.advance_offer_rounds every `interval` seconds. Every server process runs one:
    the function takes due requests with SKIP LOCKED, so drivers share the work and each offer is
    sent once. A pass that found a full batch runs again at once (a backlog drains quickly); a
    failed pass is resumed by the next one, here or in another process (the state is in the
    database)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval: float,
        batch: int,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("offer-driver", self.advance, interval=interval)
        self._pool = pool
        self._batch = batch
        self._on_change = on_change

    async def advance(self) -> bool:
        """One pass; True when it found a full batch (more may be due)."""
        changed = await advance(self._pool, max_requests=self._batch)
        if changed and self._on_change is not None:
            self._on_change()
        return changed >= self._batch
