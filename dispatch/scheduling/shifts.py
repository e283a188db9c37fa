"""An assistant's shifts: online and on-job time between going active and inactive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def list_shifts(
    conn: asyncpg.Connection, *, assistant_id: int, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The assistant's shifts ended at or after `since` (or open), newest first."""
    result: list[dict[str, Any]] = await conn.fetchval(
        "SELECT dispatch.list_shifts(assistant_id => $1, since => $2, page_size => $3)",
        assistant_id,
        since,
        limit,
    )
    return result
