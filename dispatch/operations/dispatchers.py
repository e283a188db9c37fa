"""Dispatcher operations: one call per step into sql/functions/ops_dispatch.sql."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def list_requests(
    conn: asyncpg.Connection,
    *,
    dispatcher_id: int,
    statuses: list[str] | None,
    searching: bool | None,
    since: datetime | None,
    bbox: list[float] | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """{count, results} of the requests matching the filters, newest first."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.dispatch_requests(
            dispatcher_id => $1, statuses => $2, searching => $3, since => $4, bbox => $5,
            page_size => $6, page_offset => $7)
        """,
        dispatcher_id,
        statuses,
        searching,
        since,
        bbox,
        limit,
        offset,
    )
    return result


async def request_detail(
    conn: asyncpg.Connection, *, assistance_id: int, dispatcher_id: int
) -> dict[str, Any] | None:
    """The request with its offers and event timeline; None for an unknown id."""
    result: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.dispatch_request_detail(assistance_id => $1, dispatcher_id => $2)",
        assistance_id,
        dispatcher_id,
    )
    return result


async def assign(
    conn: asyncpg.Connection,
    *,
    assistance_id: int,
    assistant_id: int,
    dispatcher_id: int,
    reason: str | None,
) -> dict[str, Any]:
    """Give a requested job to an assistant: the accept's exactly-one-winner update (409 if lost)."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.assign_assistance(
            assistance_id => $1, assistant_id => $2, dispatcher_id => $3, reason => $4)
        """,
        assistance_id,
        assistant_id,
        dispatcher_id,
        reason,
    )
    return result


async def reassign(
    conn: asyncpg.Connection,
    *,
    assistance_id: int,
    assistant_id: int,
    dispatcher_id: int,
    reason: str,
) -> dict[str, Any]:
    """Move an accepted job to another assistant."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.reassign_assistance(
            assistance_id => $1, assistant_id => $2, dispatcher_id => $3, reason => $4)
        """,
        assistance_id,
        assistant_id,
        dispatcher_id,
        reason,
    )
    return result


async def cancel(
    conn: asyncpg.Connection, *, assistance_id: int, dispatcher_id: int, reason: str
) -> dict[str, Any]:
    """Cancel an open job on the dispatcher's word."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.dispatch_cancel_assistance(
            assistance_id => $1, dispatcher_id => $2, reason => $3)
        """,
        assistance_id,
        dispatcher_id,
        reason,
    )
    return result


async def list_assistants(
    conn: asyncpg.Connection,
    *,
    dispatcher_id: int,
    state: str | None,
    service_type: str | None,
    bbox: list[float] | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """{count, results} of assistants with their state (idle|offered|busy|offline)."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.dispatch_assistants(
            dispatcher_id => $1, state => $2, service_type => $3, bbox => $4,
            page_size => $5, page_offset => $6)
        """,
        dispatcher_id,
        state,
        service_type,
        bbox,
        limit,
        offset,
    )
    return result
