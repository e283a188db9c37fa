"""The dispatcher console's own calls: the road network under its map, the demand layer, and a
dispatcher's word in a job's chat (sql/functions/ops_console.sql)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dispatch.operations import export


async def roads(
    conn: asyncpg.Connection, *, dispatcher_id: int, bbox: list[float], zoom: int, max_edges: int
) -> dict[str, Any]:
    """The main road edges inside the box as a simplified GeoJSON FeatureCollection."""
    result: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.console_roads(dispatcher_id => $1, bbox => $2, zoom => $3, "
        "max_edges => $4)",
        dispatcher_id,
        bbox,
        zoom,
        max_edges,
    )
    return result


async def demand(
    conn: asyncpg.Connection, *, dispatcher_id: int, resolution: int, days: int
) -> dict[str, Any]:
    """dispatch.heatmap's figures per H3 cell since the start of the UTC day `days` ago, as
    GeoJSON polygons (the analysts' export, `dispatch export heatmap`)."""
    await conn.execute("SELECT dispatch.require_dispatcher($1)", dispatcher_id)
    since = (datetime.now(UTC) - timedelta(days=days)).date()
    return await export.heatmap(conn, resolution=resolution, since=since, until=None)


async def post_chat(
    conn: asyncpg.Connection,
    *,
    assistance_id: int,
    dispatcher_id: int,
    message: str,
    per_minute: int,
) -> dict[str, Any]:
    """Store a dispatcher's chat message and relay it on the job's channel (DP001 unknown job)."""
    frame: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.dispatch_post_chat(assistance_id => $1, dispatcher_id => $2, "
        "message => $3, per_minute => $4)",
        assistance_id,
        dispatcher_id,
        message,
        per_minute,
    )
    return frame
