"""The assistance lifecycle: one call per step into the SQL functions of sql/functions/lifecycle.sql."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import h3
import orjson

STATUSES = ("requested", "accepted", "ongoing", "completed", "canceled")
SERVICE_TYPES = ("towing", "repair")
VEHICLE_TYPES = ("light", "heavy")


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float


@dataclass(frozen=True)
class Requested:
    """What request_assistance answers: the response body, and whether it replays an earlier one."""

    body: dict[str, Any]
    replayed: bool


def neighbourhood_r7(lat: float, lng: float) -> tuple[int, list[int]]:
    """The pickup's H3 resolution-7 cell and its six neighbours (the surge area), as bigints.

    Computed here because the database has no H3 extension; the cells are stored as bigint."""
    centre = h3.latlng_to_cell(lat, lng, 7)
    ring = sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 1) if c != centre)
    return h3.str_to_int(centre), ring


def fingerprint(**fields: Any) -> str:
    """A stable digest of a request's inputs, to tell a retry from a reuse of its Idempotency-Key."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def request_assistance(
    conn: asyncpg.Connection,
    *,
    client_id: int,
    pickup: Point,
    dropoff: Point | None,
    service_type: str,
    vehicle_type: str,
    description: str,
    idempotency_key: str | None = None,
) -> Requested:
    """Create, price and match a request and notify the matched assistants (in the caller's
    transaction). With an Idempotency-Key this client already used, the earlier request."""
    cell, neighbours = neighbourhood_r7(pickup.lat, pickup.lng)
    digest = None
    if idempotency_key is not None:
        digest = fingerprint(
            pickup=[pickup.lat, pickup.lng],
            dropoff=None if dropoff is None else [dropoff.lat, dropoff.lng],
            service_type=service_type,
            vehicle_type=vehicle_type,
            description=description,
        )
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.request_assistance(
            client_id => $1, pickup_lat => $2, pickup_lng => $3, pickup_cell_r7 => $4,
            dropoff_lat => $5, dropoff_lng => $6, service_type => $7, vehicle_type => $8,
            description => $9, neighbour_cells_r7 => $10, idempotency_key => $11,
            idempotency_fingerprint => $12, pickup_cell_r8 => $13)
        """,
        client_id,
        pickup.lat,
        pickup.lng,
        cell,
        None if dropoff is None else dropoff.lat,
        None if dropoff is None else dropoff.lng,
        service_type,
        vehicle_type,
        description,
        neighbours,
        idempotency_key,
        digest,
        h3.str_to_int(h3.latlng_to_cell(pickup.lat, pickup.lng, 8)),
    )
    replayed = bool(result.pop("replayed"))
    return Requested(body=result, replayed=replayed)


async def accept(
    conn: asyncpg.Connection, *, assistance_id: int, assistant_id: int
) -> dict[str, Any]:
    """The assistant takes the request; exactly one of concurrent accepts wins (the rest: 409)."""
    result: dict[str, Any] = await conn.fetchval(
        "SELECT dispatch.accept_assistance(assistance_id => $1, assistant_id => $2)",
        assistance_id,
        assistant_id,
    )
    return result


async def update_status(
    conn: asyncpg.Connection,
    *,
    assistance_id: int,
    actor_id: int,
    status: str,
    total_price: float | None = None,
) -> dict[str, Any]:
    """One step of the state machine by a party of the request (rules in the SQL function)."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.update_assistance_status(
            assistance_id => $1, actor_id => $2, new_status => $3, total_price => $4::numeric)
        """,
        assistance_id,
        actor_id,
        status,
        None if total_price is None else Decimal(str(total_price)),
    )
    return result


async def rate(
    conn: asyncpg.Connection, *, assistance_id: int, client_id: int, rating: int, comment: str
) -> dict[str, Any]:
    """The client rates a completed assistance, once."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.rate_assistance(
            assistance_id => $1, client_id => $2, rating => $3, comment => $4)
        """,
        assistance_id,
        client_id,
        rating,
        comment,
    )
    return result


async def list_for(
    conn: asyncpg.Connection, *, user_id: int, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The requests the user may see, newest first."""
    result: list[dict[str, Any]] = await conn.fetchval(
        """
        SELECT dispatch.list_assistance(
            user_id => $1, status => $2, page_size => $3, page_offset => $4)
        """,
        user_id,
        status,
        limit,
        offset,
    )
    return result


async def get_for(
    conn: asyncpg.Connection, *, assistance_id: int, user_id: int
) -> dict[str, Any] | None:
    """One request if the user is a party to it (or a dispatcher); None otherwise."""
    result: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.get_assistance(assistance_id => $1, user_id => $2)",
        assistance_id,
        user_id,
    )
    return result
