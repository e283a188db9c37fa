"""`dispatch roads import` on the Helsinki extract, into a throwaway database of its own."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from dispatch.core import db
from dispatch.roads import extracts
from dispatch.roads.importer import (
    RoadImportError,
    drop_region,
    import_file,
    list_regions,
    region_name,
)
from dispatch.runtime.testdb import clone_database, drop_database

ONEWAY_WAY = 4247504  # Asema-aukio: secondary, oneway=yes, maxspeed=30, surface=paved
MAXSPEED_40_WAY = 4252332  # Siltasaarenkatu: secondary, oneway=yes, maxspeed=40
SERVICE_WAY = 8035241  # a bare highway=service, oneway=yes: the class speed, 15 km/h


@pytest.fixture(scope="session")
def helsinki() -> Path:
    return extracts.fetch("helsinki")


@pytest.fixture(scope="module")
def roads_db(template_url: str) -> Iterator[str]:
    url = asyncio.run(clone_database(template_url, "dispatch_tmp_roads"))
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
async def rconn(roads_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(roads_db)
    await db.init_connection(conn)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
def imported(roads_db: str, helsinki: Path):
    async def run():
        conn = await asyncpg.connect(roads_db)
        await db.init_connection(conn)
        try:
            return await import_file(conn, helsinki)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_region_name_from_the_file(tmp_path):
    assert region_name(Path("Helsinki.osm.pbf")) == "helsinki"
    assert region_name(Path("/x/Île de France.osm.pbf")) == "le-de-france"
    with pytest.raises(RoadImportError):
        region_name(Path("___.osm.pbf"))


def test_cli_import_prints_its_counts(roads_db, helsinki):
    env = {**os.environ, "DATABASE_URL": roads_db}
    cmd = [sys.executable, "-m", "api", "roads", "import", str(helsinki), "--name", "cli"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert out.startswith("region cli: ")
    edges, vertices = (int(out.split(word)[0].split()[-1]) for word in (" edges", " vertices"))
    assert edges > 500 and vertices > 500
    assert "OpenStreetMap contributors, ODbL" in out
    listed = subprocess.run(
        [sys.executable, "-m", "api", "roads", "list"], capture_output=True, text=True, env=env
    ).stdout
    assert "cli\t" in listed
    drop = [sys.executable, "-m", "api", "roads", "drop", "cli"]
    assert subprocess.run(drop, env=env, capture_output=True).returncode == 0
    assert subprocess.run(drop, env=env, capture_output=True).returncode != 0


async def test_counts_and_costs(imported, rconn):
    assert imported.name == "helsinki"
    assert imported.edges > 500 and imported.vertices > 500
    assert 0 < imported.main_vertices <= imported.vertices
    assert imported.area_km2 > 1
    row = await rconn.fetchrow(
        "SELECT edges, vertices, (SELECT count(*) FROM roads.edges e WHERE e.region_id = r.id) AS e, "
        "(SELECT count(*) FROM roads.vertices v WHERE v.region_id = r.id) AS v "
        "FROM roads.regions r WHERE name = 'helsinki'"
    )
    assert (
        (row["edges"], row["vertices"])
        == (row["e"], row["v"])
        == (
            imported.edges,
            imported.vertices,
        )
    )
    bad = await rconn.fetchval(
        "SELECT count(*) FROM roads.edges WHERE cost = 'NaN' OR reverse_cost = 'NaN' "
        "OR (cost < 0 AND cost <> -1) OR (reverse_cost < 0 AND reverse_cost <> -1) "
        "OR cost = 'Infinity' OR reverse_cost = 'Infinity' OR (cost = 0 AND length_m > 0)"
    )
    assert bad == 0


async def _edges(conn, way):
    rows = await conn.fetch(
        "SELECT cost, reverse_cost, length_m FROM roads.edges "
        "WHERE osm_way = $1 AND region_id = (SELECT id FROM roads.regions WHERE name = 'helsinki')",
        way,
    )
    assert rows, f"way {way} was imported"
    return rows


async def test_a_oneway_street_is_closed_one_way(imported, rconn):
    for r in await _edges(rconn, ONEWAY_WAY):
        assert r["reverse_cost"] == -1
        assert r["cost"] == pytest.approx(r["length_m"] / (0.8 * 30 / 3.6))


async def test_speeds(imported, rconn):
    for r in await _edges(rconn, SERVICE_WAY):
        assert r["cost"] == pytest.approx(r["length_m"] / (15 / 3.6))
    for r in await _edges(rconn, MAXSPEED_40_WAY):
        assert r["cost"] == pytest.approx(r["length_m"] / (32 / 3.6))


async def test_dijkstra_between_main_vertices_is_finite(imported, rconn):
    a, b = await rconn.fetchval(
        "SELECT array[min(id), max(id)] FROM roads.vertices WHERE main AND region_id = $1",
        imported.region_id,
    )
    cost = await rconn.fetchval(
        "SELECT agg_cost FROM pgr_dijkstraCost("
        "'SELECT id, source, target, cost, reverse_cost FROM roads.edges WHERE main', $1::bigint, $2::bigint)",
        a,
        b,
    )
    assert cost is not None and math.isfinite(cost) and cost > 0


async def test_reimport_is_idempotent_and_regions_sit_side_by_side(imported, rconn, helsinki):
    again = await import_file(rconn, helsinki)
    assert (again.edges, again.vertices, again.main_vertices) == (
        imported.edges,
        imported.vertices,
        imported.main_vertices,
    )
    assert await rconn.fetchval("SELECT count(*) FROM roads.regions WHERE name = 'helsinki'") == 1
    other = await import_file(rconn, helsinki, name="helsinki-2")
    assert other.region_id != again.region_id
    overlap = await rconn.fetchval(
        "SELECT count(*) FROM roads.vertices a JOIN roads.vertices b USING (id) "
        "WHERE a.region_id = $1 AND b.region_id = $2",
        again.region_id,
        other.region_id,
    )
    assert overlap == 0
    names = [r["name"] for r in await list_regions(rconn)]
    assert {"helsinki", "helsinki-2"} <= set(names)
    assert await drop_region(rconn, "helsinki-2")
    assert not await drop_region(rconn, "helsinki-2")
    left = await rconn.fetchval(
        "SELECT count(*) FROM roads.edges WHERE region_id = $1", other.region_id
    )
    assert left == 0


async def test_a_bad_name_is_refused(rconn, helsinki):
    with pytest.raises(RoadImportError):
        await import_file(rconn, helsinki, name="Bad Name")


async def test_without_pgrouting_the_import_says_so(rconn, helsinki):
    tx = rconn.transaction()
    await tx.start()
    try:
        await rconn.execute("DROP EXTENSION pgrouting")
        with pytest.raises(RoadImportError, match="pgRouting is not installed"):
            await import_file(rconn, helsinki, name="nopgr")
    finally:
        await tx.rollback()


async def test_a_file_that_is_not_osm_is_refused(rconn, tmp_path):
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"not a pbf")
    with pytest.raises(RoadImportError, match="cannot read"):
        await import_file(rconn, bad)


def test_the_extract_cache_is_reused(helsinki):
    assert extracts.fetch("helsinki") == helsinki
    assert extracts.sha256_file(helsinki) == extracts.EXTRACTS["helsinki"].sha256
    with pytest.raises(extracts.ExtractError, match="unknown extract"):
        extracts.fetch("atlantis")
