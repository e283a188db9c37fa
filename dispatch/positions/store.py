"""Positions: H3 cells for a point; single and batched writes of current position plus history."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from h3.api import basic_int as h3

from dispatch.core.db import TRANSIENT
from dispatch.core.periodic import Periodic
from dispatch.events.listener import POSITIONS_CHANNEL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cells:
    r7: int
    r8: int
    r9: int


def cells(lat: float, lng: float) -> Cells:
    """H3 cells of a point at resolutions 7, 8 and 9, as the bigints stored in the database."""
    return Cells(*_cells(lat, lng))


def _cells(lat: float, lng: float) -> tuple[int, int, int]:
    # The integer API: no hex string per cell to make and parse back (a third of the cost). Each
    # resolution from the point itself: H3 does not nest, a parent need not contain the point.
    return (
        h3.latlng_to_cell(lat, lng, 7),
        h3.latlng_to_cell(lat, lng, 8),
        h3.latlng_to_cell(lat, lng, 9),
    )


_WRITE_SQL = """
WITH frames AS (
    SELECT f.*, ST_SetSRID(ST_MakePoint(f.lng, f.lat), 4326)::geography AS geog
    FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::bigint[], $5::bigint[],
                $6::bigint[], $7::timestamptz[], $8::bool[])
         AS f(user_id, lat, lng, r7, r8, r9, at, keep)
    JOIN dispatch.users u ON u.id = f.user_id          -- a user deleted meanwhile is skipped
), latest AS (
    SELECT DISTINCT ON (user_id) * FROM frames ORDER BY user_id, at DESC
), current AS (
    -- A fix dated ahead of the clock (a device's skew) counts as taken now: dated as sent, it
    -- would hide every newer fix until the clock caught up. Strictly newer wins: a retried write
    -- changes nothing, and of two fixes of one instant the first stays (as in the history).
    INSERT INTO dispatch.positions AS p (user_id, geog, h3_r7, h3_r8, h3_r9, updated_at)
    SELECT user_id, geog, r7, r8, r9, least(at, statement_timestamp()) FROM latest
    ON CONFLICT (user_id) DO UPDATE
       SET geog = EXCLUDED.geog, h3_r7 = EXCLUDED.h3_r7, h3_r8 = EXCLUDED.h3_r8,
           h3_r9 = EXCLUDED.h3_r9, updated_at = EXCLUDED.updated_at
     WHERE p.updated_at < EXCLUDED.updated_at
), history AS (
    INSERT INTO dispatch.position_history (user_id, geog, h3_r9, recorded_at)
    SELECT user_id, geog, r9, at FROM frames WHERE keep
    ON CONFLICT ON CONSTRAINT position_history_user_recorded_key DO NOTHING
), relays AS (
    -- A position is relayed to the other party of the sender's job while it is accepted or
    -- ongoing (dispatch.channel_party), whichever channel it came from: read here, at the moment
    -- it is relayed, so a reassigned or finished job relays nothing, either way.
    SELECT 'assistance:' || job.id AS topic, f.user_id, job.to_user,
           jsonb_build_object('type', 'location', 'lat', f.lat, 'lng', f.lng,
                              'user_id', f.user_id) AS message
    FROM frames f
    CROSS JOIN LATERAL (
        SELECT r.id, r.client_id AS to_user FROM dispatch.assistance_requests r
         WHERE r.assistant_id = f.user_id AND r.status IN ('accepted', 'ongoing')
        UNION ALL
        SELECT r.id, r.assistant_id FROM dispatch.assistance_requests r
         WHERE r.client_id = f.user_id AND r.status IN ('accepted', 'ongoing')
        LIMIT 1
    ) job
)
"""
# A single (REST) update relays through the event log like any other change: in its transaction,
# with a seq. The batch of WebSocket frames (up to thousands a second, each superseded seconds
# later) returns its relays instead, sent after the commit as NOTIFY payloads without seq.
_STORE_SQL = _WRITE_SQL + "SELECT count(dispatch.emit_except(topic, message, user_id)) FROM relays"  # noqa: S608
_FLUSH_SQL = _WRITE_SQL + "SELECT topic, to_user, message::text AS message FROM relays"  # noqa: S608
# After the commit, in a transaction of its own that writes nothing worth flushing: the notify
# lock is held for microseconds (see dispatch/events/publisher.py).
_RELAY_SQL = (
    "SELECT set_config('synchronous_commit', 'off', true), count(pg_notify($1, p)) "
    "FROM unnest($2::text[]) p"
)
_RELAY_BYTES = 7800  # NOTIFY payloads are limited to 8000 bytes


def relay_payloads(rows: list[asyncpg.Record]) -> list[str]:
    """Location relays packed into as few NOTIFY payloads as fit ({"relays": [...]}), each for
    the one user (`to`) who is the other party of the sender's job."""
    payloads: list[str] = []
    items: list[str] = []
    size = 0
    for row in rows:
        topic = orjson.dumps(row["topic"]).decode()
        item = f'{{"topic":{topic},"to":{row["to_user"]},"message":{row["message"]}}}'
        if items and size + len(item) > _RELAY_BYTES:
            payloads.append('{"relays":[' + ",".join(items) + "]}")
            items, size = [], 0
        items.append(item)
        size += len(item) + 1
    if items:
        payloads.append('{"relays":[' + ",".join(items) + "]}")
    return payloads


# user, lat, lng, when, whether it goes into the history
Frame = tuple[int, float, float, datetime, bool]


def _columns(frames: list[Frame]) -> list[list[Any]]:
    """The frames as the eight arrays _FLUSH_SQL unnests, with their H3 cells."""
    if not frames:
        return [[] for _ in range(8)]
    rows = [(u, lat, lng, *_cells(lat, lng), at, keep) for u, lat, lng, at, keep in frames]
    return [list(col) for col in zip(*rows, strict=True)]


async def store_position(
    conn: asyncpg.Connection, *, user_id: int, lat: float, lng: float, at: datetime | None = None
) -> None:
    """Upsert the user's current position, append it to the history and relay it to the other
    party of the user's accepted or ongoing job, if any: the batch statement with one frame.
    `at` (default now) is when the position was recorded; an older one is history only, a later
    one than the database's clock becomes the position as of now, and a history row of the same
    user and instant is kept as it is."""
    when = at or datetime.now(UTC)
    await conn.execute(_STORE_SQL, *_columns([(user_id, lat, lng, when, True)]))


class PositionBatcher(Periodic):
    """Collects location frames and writes them in one statement per interval (via unnest):
    current positions upserted, history appended, relays emitted.

    Frames are coalesced per user: only a user's newest frame of an interval is written and
    relayed (matching needs no more), and it enters the history at most once per `history_s`,
    so one client flooding frames costs one row per interval, not one per frame."""

    MAX_PENDING = 100_000  # users with a pending frame; beyond, the database is not keeping up

    def __init__(self, pool: asyncpg.Pool, *, interval: float, history_s: float = 0.0) -> None:
        # Never off: frames wait here until written (0 ms means "as often as sensible").
        interval = max(interval, 0.005)
        super().__init__("position-batcher", self.flush, interval=interval, delay_first=True)
        self._pool = pool
        self._history_s = history_s
        self._pending: dict[int, Frame] = {}
        self._history_at: dict[int, float] = {}  # user -> monotonic time of its last history row
        self.dropped = 0  # frames not written: the backlog was full or the database failed
        self.coalesced = 0  # frames replaced by a newer one of the same user before a write
        self.written = 0

    def add(self, *, user_id: int, lat: float, lng: float) -> None:
        previous = self._pending.get(user_id)
        if previous is None and len(self._pending) >= self.MAX_PENDING:
            self.dropped += 1
            return
        keep = previous is not None and previous[4]
        if not keep:
            now = time.monotonic()
            if now - self._history_at.get(user_id, -math.inf) >= self._history_s:
                self._history_at[user_id] = now
                keep = True
        if previous is not None:
            self.coalesced += 1
        self._pending[user_id] = (user_id, lat, lng, datetime.now(UTC), keep)

    async def stop(self) -> None:
        """Stop the loop, then write what is pending."""
        await super().stop()
        await self.flush()

    async def flush(self) -> int:
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        batch = list(pending.values())
        if len(self._history_at) > self.MAX_PENDING:  # forget users whose interval has passed
            horizon = time.monotonic() - self._history_s
            self._history_at = {u: t for u, t in self._history_at.items() if t > horizon}
        try:
            relays = await self._pool.fetch(_FLUSH_SQL, *_columns(batch))
        except TRANSIENT as exc:
            log.warning("dropped %d location frames: %s", len(batch), type(exc).__name__)
            self.dropped += len(batch)
            return 0
        self.written += len(batch)
        if relays:
            try:
                await self._pool.execute(_RELAY_SQL, POSITIONS_CHANNEL, relay_payloads(relays))
            except TRANSIENT as exc:
                # Stored all the same; the next position supersedes these within seconds.
                log.warning("%d location relays not sent: %s", len(relays), type(exc).__name__)
        return len(batch)
