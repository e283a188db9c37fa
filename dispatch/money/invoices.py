"""Cost lines and invoices: calls into sql/functions/money.sql (issuing happens on completion)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg


async def add_cost_line(
    conn: asyncpg.Connection,
    *,
    assistance_id: int,
    assistant_id: int,
    label: str,
    quantity: Decimal,
    unit_price: Decimal,
) -> dict[str, Any]:
    """The assigned assistant adds a cost line to an ongoing job (404 for anyone else, 409 when
    the job is not ongoing)."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.add_cost_line(assistance_id => $1, assistant_id => $2, label => $3,
                                      quantity => $4, unit_price => $5)
        """,
        assistance_id,
        assistant_id,
        label,
        quantity,
        unit_price,
    )
    return result


async def remove_cost_line(
    conn: asyncpg.Connection, *, assistance_id: int, assistant_id: int, line_id: int
) -> None:
    """The assigned assistant removes a cost line of an ongoing job (404 for anyone else or an
    unknown line, 409 when the job is not ongoing)."""
    await conn.execute(
        "SELECT dispatch.remove_cost_line(assistance_id => $1, assistant_id => $2, line_id => $3)",
        assistance_id,
        assistant_id,
        line_id,
    )


async def list_cost_lines(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> list[dict[str, Any]] | None:
    """The request's cost lines for its parties and dispatchers; None for anyone else."""
    result: list[dict[str, Any]] | None = await conn.fetchval(
        "SELECT dispatch.list_cost_lines(assistance_id => $1, user_id => $2)",
        assistance_id,
        user_id,
    )
    return result


async def get_invoice(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> dict[str, Any] | None:
    """The request's invoice for its parties and dispatchers; None before completion or for
    anyone else."""
    result: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.get_invoice(assistance_id => $1, user_id => $2)",
        assistance_id,
        user_id,
    )
    return result
