"""Real-time domain calls: who may join a job's channel, its current status, and chat."""

from __future__ import annotations

from typing import Any

import asyncpg


async def channel_status(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> dict[str, Any] | None:
    """The `status` message of a job for one of its parties; None for anyone else."""
    status: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.channel_status(assistance_id => $1, user_id => $2)", assistance_id, user_id
    )
    return status


async def post_chat(
    conn: asyncpg.Connection, *, assistance_id: int, sender_id: int, message: str
) -> dict[str, Any]:
    """Store a chat message and relay it to the job's channel, in the caller's transaction."""
    frame: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.post_chat(assistance_id => $1, sender_id => $2, message => $3)",
        assistance_id,
        sender_id,
        message,
    )
    return frame
