"""Scheduled bookings: make, list, cancel, availability, and the activation of due ones."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
import h3

from dispatch.assistance.lifecycle import Point, neighbourhood_r7

STATUSES = ("scheduled", "converted", "failed", "canceled")


async def create(
    conn: asyncpg.Connection,
    *,
    client_id: int,
    pickup: Point,
    dropoff: Point | None,
    service_type: str,
    vehicle_type: str,
    vehicle_id: int | None,
    description: str,
    scheduled_for: datetime,
) -> dict[str, Any]:
    """Book assistance for later. The pickup's H3 cells are stored now: the conversion into a
    request runs in SQL, where there is no H3."""
    cell, neighbours = neighbourhood_r7(pickup.lat, pickup.lng)
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.create_booking(
            client_id => $1, pickup_lat => $2, pickup_lng => $3, pickup_cell_r7 => $4,
            neighbour_cells_r7 => $5, scheduled_for => $6, dropoff_lat => $7, dropoff_lng => $8,
            service_type => $9, vehicle_type => $10, vehicle_id => $11, description => $12)
        """,
        client_id,
        pickup.lat,
        pickup.lng,
        cell,
        neighbours,
        scheduled_for,
        None if dropoff is None else dropoff.lat,
        None if dropoff is None else dropoff.lng,
        service_type,
        vehicle_type,
        vehicle_id,
        description,
    )
    return result


async def list_for(
    conn: asyncpg.Connection, *, user_id: int, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The bookings the user may see, latest scheduled first."""
    result: list[dict[str, Any]] = await conn.fetchval(
        """
        SELECT dispatch.list_bookings(
            user_id => $1, status => $2, page_size => $3, page_offset => $4)
        """,
        user_id,
        status,
        limit,
        offset,
    )
    return result


async def cancel(conn: asyncpg.Connection, *, booking_id: int, client_id: int) -> dict[str, Any]:
    """The client cancels its scheduled booking (a converted or failed one cannot be)."""
    result: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.cancel_booking(booking_id => $1, client_id => $2)", booking_id, client_id
    )
    return result


async def availability(
    conn: asyncpg.Connection, *, lat: float, lng: float, service_type: str, day: date
) -> list[dict[str, Any]]:
    """Hourly slots of `day` (UTC) with the idle assistants expected around the point: its H3 r7
    cell and the ring around it, as the supply history recorded them on past weeks."""
    centre = h3.latlng_to_cell(lat, lng, 7)
    cells = sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 1))
    rows = await conn.fetch(
        """
        SELECT slot_start, slot_end, expected_idle_assistants, sampled_days, bookable
        FROM dispatch.booking_availability(cells_r7 => $1, service_type => $2, day => $3)
        """,
        cells,
        service_type,
        day,
    )
    return [
        {
            "start": r["slot_start"],
            "end": r["slot_end"],
            "expected_idle_assistants": None
            if r["expected_idle_assistants"] is None
            else float(r["expected_idle_assistants"]),
            "sampled_days": r["sampled_days"],
            "bookable": r["bookable"],
        }
        for r in rows
    ]


async def activate_due(conn: asyncpg.Connection, *, batch: int = 20) -> int:
    """Turn due bookings into requests (each exactly once across processes); how many handled."""
    handled: int = await conn.fetchval(
        "SELECT dispatch.activate_due_bookings(max_bookings => $1)", batch
    )
    return handled
