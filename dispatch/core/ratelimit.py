"""Rate limits in Postgres: fixed-window counters and token buckets every server process shares."""

from __future__ import annotations

import asyncpg


async def hit(conn: asyncpg.Connection, *, buckets: list[tuple[str, int]], window: int) -> int:
    """Count one request in each (bucket, limit); the seconds to wait when any is over, else 0.

    A limit of 0 switches that bucket off.
    """
    wait = 0
    for bucket, limit in buckets:
        if limit <= 0 or window <= 0:
            continue
        seconds: int = await conn.fetchval(
            "SELECT dispatch.rate_limit_hit(bucket_key => $1, max_hits => $2, window_seconds => $3)",
            bucket,
            limit,
            window,
        )
        wait = max(wait, seconds)
    return wait


async def purge(conn: asyncpg.Connection, *, older_than_seconds: int = 86400) -> None:
    """Forget buckets whose window ended long ago, and token buckets (dispatch.take_token, the
    chat limit) untouched as long: refilled, they are the same as none."""
    await conn.execute(
        "DELETE FROM dispatch.rate_limits WHERE window_start < now() - make_interval(secs => $1)",
        older_than_seconds,
    )
    await conn.execute(
        "DELETE FROM dispatch.token_buckets WHERE refilled_at < now() - make_interval(secs => $1)",
        older_than_seconds,
    )
