"""`dispatch export heatmap`: GeoJSON H3 cell polygons with the analyst figures, built from data
written to a throwaway database, through the function and through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import h3
import pytest
from shapely.geometry import Point, shape

from dispatch.core.db import init_connection
from dispatch.demo.history import seed_history
from dispatch.operations.export import cell_polygon, heatmap
from tests.support.factories import create_user


@pytest.fixture
async def history(throwaway_db):
    """The demo history (a few hours of requests, offers, activity, positions) on fresh users."""
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    fleet = []
    for n in range(6):
        a = await create_user(conn, role="assistant", is_active=True, lat=36.75, lng=3.04 + n / 100)
        fleet.append((a.id, "towing" if n % 2 else "repair", "light"))
    clients = [(await create_user(conn, role="client")).id for _ in range(3)]
    written = await seed_history(conn, assistants=fleet, clients=clients)
    assert written > 20
    assert await seed_history(conn, assistants=fleet, clients=clients) == 0  # written once
    yield conn, throwaway_db
    await conn.close()


def test_cell_polygon_is_the_h3_hexagon():
    cell = h3.latlng_to_cell(36.7525, 3.042, 8)
    polygon = cell_polygon(h3.str_to_int(cell))
    assert polygon.is_valid and polygon.exterior.is_ccw
    assert len(polygon.exterior.coords) == 7  # six corners, closed
    assert polygon.contains(Point(3.042, 36.7525))  # lng, lat
    assert polygon.area == pytest.approx(
        shape({"type": "Polygon", "coordinates": [[
            (lng, lat) for lat, lng in (*h3.cell_to_boundary(cell), h3.cell_to_boundary(cell)[0])
        ]]}).area
    )  # fmt: skip


@pytest.mark.parametrize("resolution", [7, 8])
async def test_heatmap_figures_match_the_sql(history, resolution):
    conn, _ = history
    since = (datetime.now(UTC) - timedelta(days=1)).date()  # the history spans the last hours
    collection = await heatmap(conn, resolution=resolution, since=since, until=None)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    total = await conn.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests WHERE created_at >= $1::date", since
    )
    assert sum(f["properties"]["requests"] for f in features) == total
    for feature in features:
        props = feature["properties"]
        assert h3.get_resolution(props["h3"]) == resolution
        polygon = shape(feature["geometry"])
        assert polygon.is_valid and polygon.contains(
            Point(*reversed(h3.cell_to_latlng(props["h3"])))
        )
        assert props["accepted"] <= props["requests"]
        if props["accepted"]:
            assert props["p50_accept_s"] <= props["p90_accept_s"]
    busiest = max(features, key=lambda f: f["properties"]["requests"])
    pickups = await conn.fetchval(
        f"SELECT count(*) FROM dispatch.assistance_requests WHERE pickup_h3_r{resolution} = $1",
        h3.str_to_int(busiest["properties"]["h3"]),
    )
    assert busiest["properties"]["requests"] == pickups


def test_export_command_writes_geojson(history, tmp_path):
    _, url = history
    out = tmp_path / "heat.geojson"
    env = {**os.environ, "DATABASE_URL": url}
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    done = subprocess.run(
        [sys.executable, "-m", "dispatch.runtime.cli", "export", "heatmap", "--resolution", "8",
         "--since", since, "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["type"] == "FeatureCollection" and data["features"]
    assert data["properties"] == {"resolution": 8, "since": since, "until": None}
    assert {f["geometry"]["type"] for f in data["features"]} == {"Polygon"}
    bad = subprocess.run(
        [sys.executable, "-m", "dispatch.runtime.cli", "export", "heatmap", "--since", "tomorrow"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr
