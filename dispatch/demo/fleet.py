"""Demo fleet data around Algiers: a centre zone with its own tariff, an area without service,
and vehicles for the demo client (idempotent, called by dispatch/demo/seed.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


def _box(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict[str, Any]:
    ring = [[min_lng, min_lat], [max_lng, min_lat], [max_lng, max_lat], [min_lng, max_lat]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


# (name, GeoJSON, serviceable, tariffs). The centre covers the demo client and assistants.
DEMO_ZONES: list[tuple[str, dict[str, Any], bool, list[dict[str, Any]]]] = [
    (
        "Alger Centre",
        _box(3.02, 36.735, 3.075, 36.775),
        True,
        [
            {"service_type": "towing", "vehicle_type": "light", "base_fare": 2000, "per_km": 60},
            {"service_type": "towing", "vehicle_type": "heavy", "base_fare": 3800, "per_km": 180},
            {"service_type": "repair", "vehicle_type": "light", "base_fare": 1300, "per_km": 0},
        ],
    ),
    ("Port d'Alger (no service)", _box(3.062, 36.776, 3.085, 36.79), False, []),
]

# (make, model, year, plate, vin, fuel type, class)
DEMO_VEHICLES = [
    ("Renault", "Clio", 2019, "12345-119-16", "VF1RJA00961234567", "diesel", "light"),
    ("Mercedes-Benz", "Actros", 2016, "00771-316-16", None, "diesel", "heavy"),
]


async def seed_fleet(conn: asyncpg.Connection, *, client_id: int) -> None:
    for name, geometry, serviceable, tariffs in DEMO_ZONES:
        zone_id = await conn.fetchval(
            "SELECT z.id FROM dispatch.service_zones z WHERE z.name = $1", name
        )
        if zone_id is None:
            await conn.fetchval(
                """
                SELECT dispatch.create_zone(
                    name => $1, geometry => $2::text::jsonb, serviceable => $3,
                    tariffs => $4::text::jsonb)
                """,
                name,
                # As text, cast in SQL: right with or without a JSON codec on the connection.
                orjson.dumps(geometry).decode(),
                serviceable,
                orjson.dumps(tariffs).decode(),
            )
    for make, model, year, plate, vin, fuel, vehicle_class in DEMO_VEHICLES:
        await conn.execute(
            """
            INSERT INTO dispatch.vehicles (owner_id, make, model, year, license_plate, vin,
                                           fuel_type, vehicle_class)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT ON CONSTRAINT vehicles_owner_plate_key DO NOTHING
            """,
            client_id,
            make,
            model,
            year,
            plate,
            vin,
            fuel,
            vehicle_class,
        )
