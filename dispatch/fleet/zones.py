"""Service zones and the priced catalogue: calls into sql/functions/zones.sql."""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatch.assistance.lifecycle import neighbourhood_r7


async def list_zones(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await conn.fetchval("SELECT dispatch.list_zones()")
    return result


async def get_zone(conn: asyncpg.Connection, *, zone_id: int) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.zone_json(zone_id => $1)", zone_id
    )
    return result


async def create_zone(
    conn: asyncpg.Connection,
    *,
    name: str,
    geometry: dict[str, Any],
    serviceable: bool,
    tariffs: list[dict[str, Any]],
) -> dict[str, Any]:
    """A new zone from a GeoJSON (Multi)Polygon; invalid geometry is a 400 naming the reason."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.create_zone(
            name => $1, geometry => $2::jsonb, serviceable => $3, tariffs => $4::jsonb)
        """,
        name,
        geometry,
        serviceable,
        tariffs,
    )
    return result


async def update_zone(
    conn: asyncpg.Connection,
    *,
    zone_id: int,
    name: str | None,
    geometry: dict[str, Any] | None,
    serviceable: bool | None,
    tariffs: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Replace the given parts of a zone (None keeps the stored value)."""
    result: dict[str, Any] = await conn.fetchval(
        """
        SELECT dispatch.update_zone(zone_id => $1, name => $2, geometry => $3::jsonb,
                                    serviceable => $4, tariffs => $5::jsonb)
        """,
        zone_id,
        name,
        geometry,
        serviceable,
        tariffs,
    )
    return result


async def delete_zone(conn: asyncpg.Connection, *, zone_id: int) -> None:
    await conn.execute("SELECT dispatch.delete_zone(zone_id => $1)", zone_id)


async def catalogue(conn: asyncpg.Connection, *, lat: float, lng: float) -> list[dict[str, Any]]:
    """Every service and vehicle class priced at a point, from the SQL that prices a request there
    (the same tariff rows and surge cells as dispatch.quote_price)."""
    cell, neighbours = neighbourhood_r7(lat, lng)
    result: list[dict[str, Any]] = await conn.fetchval(
        """
        SELECT dispatch.service_catalogue(
            pickup => ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography,
            pickup_cell_r7 => $3, neighbour_cells_r7 => $4)
        """,
        lat,
        lng,
        cell,
        neighbours,
    )
    return result
