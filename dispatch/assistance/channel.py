"""A job's channel: who may join it (dispatch.channel_party), its current status, and its chat."""

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


async def channel_status_at(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> tuple[dict[str, Any] | None, int]:
    """The `status` message (None for a non-party) and the last event seq, read in one snapshot."""
    row = await conn.fetchrow(
        "SELECT dispatch.channel_status(assistance_id => $1, user_id => $2) AS status, "
        "(SELECT last_seq FROM dispatch.event_cursor) AS seq",
        assistance_id,
        user_id,
    )
    return row["status"], int(row["seq"])


async def post_chat(
    conn: asyncpg.Connection,
    *,
    assistance_id: int,
    sender_id: int,
    message: str,
    per_minute: int = 0,
) -> dict[str, Any]:
    """Store a chat message and relay it to the job's channel, in the caller's transaction.
    `per_minute` > 0 takes a token from the sender's bucket, shared by every server process
    (RateLimited, code CHAT_RATE_LIMITED, when it is empty)."""
    frame: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.post_chat(assistance_id => $1, sender_id => $2, message => $3, "
        "per_minute => $4)",
        assistance_id,
        sender_id,
        message,
        per_minute,
    )
    return frame


async def chat_page(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int, before: int | None, limit: int
) -> dict[str, Any] | None:
    """A page of a job's chat, newest first; None unless the user is a party or a dispatcher."""
    page: dict[str, Any] | None = await conn.fetchval(
        """
        SELECT dispatch.chat_history(
            assistance_id => $1, user_id => $2, before_id => $3, page_size => $4)
        """,
        assistance_id,
        user_id,
        before,
        limit,
    )
    return page
