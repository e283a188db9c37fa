"""Replay for `?since=`: the stored events of one topic after a client's last seq."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from dispatch.events.listener import frame


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
