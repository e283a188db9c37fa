"""`dispatch export heatmap`: dispatch.heatmap's per-cell figures as GeoJSON H3 cell polygons."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg
import h3
import orjson
import shapely
from shapely.geometry import Polygon, mapping

FIGURES = (
    "requests",
    "accepted",
    "exhausted",
    "unserved",
    "idle_assistant_hours",
    "peak_idle_assistants",
    "p50_accept_s",
    "p90_accept_s",
)


def cell_polygon(cell: int) -> Polygon:
    """The H3 cell's boundary as a shapely polygon in lng/lat order (GeoJSON's), closed."""
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(cell))]
    polygon = Polygon(ring)
    # H3 boundaries are counter-clockwise already; orient() makes the RFC 7946 rule explicit.
    return shapely.geometry.polygon.orient(polygon, sign=1.0)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def heatmap(
    conn: asyncpg.Connection, *, resolution: int, since: date, until: date | None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one polygon per cell with requests or idle supply in
    [since, until) (UTC days; until defaults to now)."""
    rows = await conn.fetch(
        """
        SELECT * FROM dispatch.heatmap(resolution => $1, since => $2,
                                       until => coalesce($3, now()))
        """,
        resolution,
        day_start(since),
        None if until is None else day_start(until),
    )
    features = []
    for row in rows:
        polygon = cell_polygon(row["cell"])
        properties: dict[str, Any] = {
            "h3": h3.int_to_str(row["cell"]),
            "resolution": resolution,
            "area_km2": round(h3.cell_area(h3.int_to_str(row["cell"]), unit="km^2"), 4),
        }
        properties.update({name: row[name] for name in FIGURES})
        features.append({"type": "Feature", "geometry": mapping(polygon), "properties": properties})
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "resolution": resolution,
            "since": since.isoformat(),
            "until": until.isoformat() if until else None,
        },
    }


def dumps(collection: dict[str, Any]) -> bytes:
    return orjson.dumps(collection, option=orjson.OPT_INDENT_2)
