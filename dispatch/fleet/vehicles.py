"""Clients' vehicles: plate and VIN rules, and the CRUD calls over dispatch.vehicles."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import asyncpg

FUEL_TYPES = ("gasoline", "diesel", "electric", "hybrid", "lpg", "cng", "other")
VEHICLE_CLASSES = ("light", "heavy")
FIRST_YEAR = 1900

_PLATE_SEPARATORS = re.compile(r"[\s\-._/]+")
_PLATE = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)*")
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")  # I, O and Q are never used (they look like 1 and 0)
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_plate(raw: str) -> str:
    """Upper case, any run of spaces, dots, dashes, slashes or underscores as one '-'.

    So "ab 123.cd" and "AB-123-CD" are the same plate; ValueError when nothing plate-like is left."""
    plate = "-".join(p for p in _PLATE_SEPARATORS.split(raw.strip().upper()) if p)
    if not (2 <= len(plate) <= 20) or not _PLATE.fullmatch(plate):
        raise ValueError("A licence plate is 2 to 20 letters and digits (separators allowed).")
    return plate


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) of a 17-character VIN: weighted sum mod 11, 10 written X."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalise_vin(raw: str) -> str:
    """The VIN in upper case; ValueError unless it has 17 valid characters and its check digit."""
    vin = raw.strip().upper()
    if not _VIN.fullmatch(vin):
        raise ValueError("A VIN is 17 letters and digits, without I, O or Q.")
    if vin[8] != vin_check_digit(vin):
        raise ValueError("The VIN's check digit (9th character) does not match.")
    return vin


def last_model_year() -> int:
    """Next year's models are on sale already."""
    return datetime.now(UTC).year + 1


async def list_vehicles(conn: asyncpg.Connection, *, owner_id: int) -> list[dict[str, Any]]:
    """The client's vehicles, oldest registration first."""
    result: list[dict[str, Any]] = await conn.fetchval(
        """
        SELECT coalesce(jsonb_agg(dispatch.vehicle_json(v) ORDER BY v.id), '[]')
        FROM dispatch.vehicles v WHERE v.owner_id = $1
        """,
        owner_id,
    )
    return result


async def get_vehicle(
    conn: asyncpg.Connection, *, owner_id: int, vehicle_id: int
) -> dict[str, Any] | None:
    """One of the client's vehicles; None for a missing one or another client's."""
    result: dict[str, Any] | None = await conn.fetchval(
        "SELECT dispatch.vehicle_json(v) FROM dispatch.vehicles v WHERE v.id = $1 AND v.owner_id = $2",
        vehicle_id,
        owner_id,
    )
    return result


async def create_vehicle(
    conn: asyncpg.Connection, *, owner_id: int, fields: dict[str, Any]
) -> dict[str, Any]:
    """Register a vehicle for the client (fields already validated and normalised)."""
    result: dict[str, Any] = await conn.fetchval(
        """
        INSERT INTO dispatch.vehicles AS v
            (owner_id, make, model, year, license_plate, vin, fuel_type, vehicle_class)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        RETURNING dispatch.vehicle_json(v)
        """,
        owner_id,
        fields["make"],
        fields["model"],
        fields["year"],
        fields["license_plate"],
        fields.get("vin"),
        fields.get("fuel_type"),
        fields.get("vehicle_class") or "light",
    )
    return result


async def update_vehicle(
    conn: asyncpg.Connection, *, owner_id: int, vehicle_id: int, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """Change the given fields of the client's vehicle (a key present with None clears vin or
    fuel_type); None for a missing vehicle or another client's."""
    result: dict[str, Any] | None = await conn.fetchval(
        """
        UPDATE dispatch.vehicles AS v
           SET make = coalesce($3, v.make),
               model = coalesce($4, v.model),
               year = coalesce($5, v.year),
               license_plate = coalesce($6, v.license_plate),
               vin = CASE WHEN $7 THEN $8 ELSE v.vin END,
               fuel_type = CASE WHEN $9 THEN $10 ELSE v.fuel_type END,
               vehicle_class = coalesce($11, v.vehicle_class),
               updated_at = now()
         WHERE v.id = $1 AND v.owner_id = $2
        RETURNING dispatch.vehicle_json(v)
        """,
        vehicle_id,
        owner_id,
        fields.get("make"),
        fields.get("model"),
        fields.get("year"),
        fields.get("license_plate"),
        "vin" in fields,
        fields.get("vin"),
        "fuel_type" in fields,
        fields.get("fuel_type"),
        fields.get("vehicle_class"),
    )
    return result


async def delete_vehicle(conn: asyncpg.Connection, *, owner_id: int, vehicle_id: int) -> bool:
    """Remove the client's vehicle; False when there is no such vehicle of theirs, 409
    VEHICLE_IN_USE while an open booking or job uses it."""
    deleted: bool = await conn.fetchval(
        "SELECT dispatch.delete_vehicle(owner_id => $1, vehicle_id => $2)", owner_id, vehicle_id
    )
    return deleted


async def vehicle_class(conn: asyncpg.Connection, *, client_id: int, vehicle_id: int) -> str:
    """The class of the client's own vehicle, a request's vehicle_type (404 for anyone else's)."""
    result: str = await conn.fetchval(
        "SELECT dispatch.vehicle_class_for(client_id => $1, vehicle_id => $2)",
        client_id,
        vehicle_id,
    )
    return result
