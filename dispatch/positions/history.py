"""Position history: telematics batches in, a job's track out (partitioned by day, kept a while)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import h3

from dispatch.positions.store import store_position


async def track(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> dict[str, Any] | None:
    """The assistant's path during the job as a GeoJSON LineString; None if not visible."""
    line: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.assistance_track(assistance_id => $1, user_id => $2)",
        assistance_id,
        user_id,
    )
    return line


@dataclass(frozen=True)
class TrackPoint:
    lat: float
    lng: float
    recorded_at: datetime
    speed: float | None = None
    heading: float | None = None


async def store_batch(conn: asyncpg.Connection, *, user_id: int, points: list[TrackPoint]) -> int:
    """Store a telematics batch in the caller's transaction: every point into the history in one
    statement (one row per instant, a retried batch adds nothing), then the newest point through
    the position path (current position if newer than the stored one, matchable flag, relay to
    an open job; its history row is already there)."""
    stored: int = await conn.fetchval(
        """
        SELECT dispatch.store_telematics(
            user_id => $1, lats => $2, lngs => $3, cells_r9 => $4, recorded => $5,
            speeds => $6, headings => $7)
        """,
        user_id,
        [p.lat for p in points],
        [p.lng for p in points],
        [h3.str_to_int(h3.latlng_to_cell(p.lat, p.lng, 9)) for p in points],
        [p.recorded_at for p in points],
        [p.speed for p in points],
        [p.heading for p in points],
    )
    # The last of the newest instant's points, as the history keeps it.
    newest = max(range(len(points)), key=lambda i: (points[i].recorded_at, i))
    top = points[newest]
    await store_position(conn, user_id=user_id, lat=top.lat, lng=top.lng, at=top.recorded_at)
    return stored
