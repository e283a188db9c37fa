"""The publisher: numbers committed events (seq) off the hot path, wakes the listeners, prunes old ones.

Every server process runs one. A pass is one short transaction (`dispatch.publish_events`) that
locks the one-row counter, numbers the unpublished batches in id order, sends a wake-up NOTIFY
(payload: the highest seq, and the batches themselves when they fit) and commits; concurrent
passes of other processes wait on the counter, so seq order is the commit order of the passes and
a reader that has seen seq S has seen every seq below it. The NOTIFY adds no serialisation of its
own: passes already run one at a time.

Passes run when kicked (`kick()`: after each mutating HTTP request of this process, after chat, and
by any in-process job that emits, such as an offer-round driver) and on a timer, which picks up
events committed elsewhere (psql, a process that died between its commit and its kick).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from dispatch.core.periodic import Periodic

Published = Callable[[Sequence[Any]], None]

_PUBLISH = "SELECT seq, topics, messages, skip_user FROM dispatch.publish_events($1)"
_PRUNE = "SELECT dispatch.prune_events(make_interval(secs => $1), $2)"


class Publisher(Periodic):
    """Kick it and committed events get their seq and reach every process's listener."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval: float,
        on_published: Published | None = None,
        retention_h: float = 24.0,
        prune_every: float = 300.0,
        batch: int = 1000,
    ) -> None:
        # Never dies (a dead publisher would silence every socket): a failed pass leaves the rows
        # in the table for the next kick or tick.
        super().__init__("event-publisher", self._pass, interval=interval, kicked_only=True)
        self._pool = pool
        self._on_published = on_published
        self._retention_h = retention_h
        self._prune_every = prune_every
        self._batch = batch
        self._next_prune = time.monotonic() + prune_every
        self.passes = 0  # publish passes that numbered at least one event
        self.published = 0  # frames (seqs) this process numbered
        self.last_seq = 0  # the highest seq this process numbered

    async def _pass(self) -> None:
        await self.publish_pending()
        if self._prune_every and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._prune_every
            await self.prune()

    async def publish_pending(self) -> int:
        """Number every committed, unpublished batch now; returns how many frames (seqs) this call
        numbered."""
        total = 0
        top = 0
        while True:
            rows = await self._pool.fetch(_PUBLISH, self._batch)
            if rows:
                total += sum(len(row["topics"]) for row in rows)
                top = rows[-1]["seq"] + len(rows[-1]["topics"]) - 1
                if self._on_published is not None:
                    self._on_published(rows)
            if len(rows) < self._batch:
                break
        if total:
            self.passes += 1
            self.published += total
            self.last_seq = max(self.last_seq, top)
        return total

    async def prune(self) -> int:
        """Delete published events older than the retention; returns how many."""
        pruned = 0
        while True:
            n = await self._pool.fetchval(_PRUNE, self._retention_h * 3600.0, 10_000)
            pruned += n
            if n < 10_000:
                return pruned
