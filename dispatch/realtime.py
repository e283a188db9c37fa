"""Real-time domain calls: who may join a job's channel, its current status, and chat."""

from __future__ import annotations

from typing import Any

import asyncpg


async def channel_status(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> dict[str, Any] | None:
    """The `status` message of a job for one of its parties; None for anyone else."""
    raise NotImplementedError  # wired to the assistance tables when the dispatch core lands


async def post_chat(
    conn: asyncpg.Connection, *, assistance_id: int, sender_id: int, message: str
) -> None:
    """Store a chat message and relay it to the job's channel, in the caller's transaction."""
    raise NotImplementedError
