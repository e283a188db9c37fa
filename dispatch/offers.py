"""Offer rounds: decline, and the round driver every server process runs (SQL in offers.sql)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


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


class OfferDriver:
    """Calls dispatch.advance_offer_rounds every `interval` seconds. Every server process runs one:
    the function takes due requests with SKIP LOCKED, so drivers share the work and each offer is
    sent once. A pass that found a full batch runs again at once (a backlog drains quickly)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval: float,
        batch: int,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._interval = interval
        self._batch = batch
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="offer-driver")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            changed = 0
            try:
                changed = await advance(self._pool, max_requests=self._batch)
            # InternalClientError: a connection caught mid-operation by a database restart.
            except (
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            ) as exc:
                # The state is in the database: the next pass (here or in another process) resumes.
                log.warning("offer rounds not advanced: %s", type(exc).__name__)
            if changed and self._on_change is not None:
                self._on_change()
            if changed < self._batch:
                await asyncio.sleep(self._interval)
