"""Real-time domain calls: who may join a job's channel, its current status, chat, and replay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from dispatch.events import frame


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


@dataclass(frozen=True)
class Replay:
    """Stored events of one topic after a client's `since`, read in one snapshot."""

    rows: list[Mapping[str, Any]]  # {seq, skip_user, frame}, in seq order
    truncated: bool  # events after `since` were pruned, or more than the limit are waiting
    oldest_seq: int  # the lowest seq still kept (pruned_through + 1)
    last_seq: int  # the highest seq published when read


async def replay(conn: asyncpg.Connection, *, topic: str, since: int, limit: int) -> Replay:
    """The events of `topic` published after `since` (at most `limit`), for `?since=` replay."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.fetchrow("SELECT last_seq, pruned_through FROM dispatch.event_cursor")
        rows = await conn.fetch(
            "SELECT seq, skip_user, message FROM dispatch.replay_events($1, $2, $3)",
            topic,
            since,
            limit + 1,
        )
    pruned = since < cursor["pruned_through"]
    return Replay(
        rows=[
            {"seq": r["seq"], "skip_user": r["skip_user"], "frame": frame(r["message"], r["seq"])}
            for r in rows[:limit]
        ],
        truncated=pruned or len(rows) > limit,
        oldest_seq=cursor["pruned_through"] + 1,
        last_seq=cursor["last_seq"],
    )
