"""Positions: H3 cells for a point and the writes of current position plus history."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import h3

RESOLUTIONS = (7, 8, 9)


@dataclass(frozen=True)
class Cells:
    r7: int
    r8: int
    r9: int


def cells(lat: float, lng: float) -> Cells:
    """H3 cells of a point at resolutions 7, 8 and 9, as the bigints stored in the database."""
    r7, r8, r9 = (h3.str_to_int(h3.latlng_to_cell(lat, lng, r)) for r in RESOLUTIONS)
    return Cells(r7, r8, r9)


async def store_position(conn: asyncpg.Connection, *, user_id: int, lat: float, lng: float) -> None:
    """Upsert the user's current position and append it to the history, in one statement."""
    c = cells(lat, lng)
    await conn.execute(
        """
        WITH point AS (
            SELECT ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography AS geog
        ), current AS (
            INSERT INTO dispatch.positions AS p (user_id, geog, h3_r7, h3_r8, h3_r9, updated_at)
            SELECT $1, geog, $4, $5, $6, now() FROM point
            ON CONFLICT (user_id) DO UPDATE
               SET geog = EXCLUDED.geog, h3_r7 = EXCLUDED.h3_r7, h3_r8 = EXCLUDED.h3_r8,
                   h3_r9 = EXCLUDED.h3_r9, updated_at = EXCLUDED.updated_at
        )
        INSERT INTO dispatch.position_history (user_id, geog, h3_r9)
        SELECT $1, geog, $6 FROM point
        """,
        user_id,
        lat,
        lng,
        c.r7,
        c.r8,
        c.r9,
    )
