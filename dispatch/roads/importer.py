"""Loading a car graph into roads.regions, roads.vertices and roads.edges: one region per name,
replaced whole in one transaction, its largest strongly connected piece marked `main`."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import shapely

from dispatch.roads.extracts import sha256_file
from dispatch.roads.osm import Graph, read_graph

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class RoadImportError(RuntimeError):
    """The import cannot go ahead (no pgRouting, a bad name, a graph with no routable piece)."""


@dataclass(frozen=True)
class Imported:
    """What one import loaded."""

    region_id: int
    name: str
    edges: int
    vertices: int
    main_vertices: int
    area_km2: float
    seconds: float


def region_name(path: Path) -> str:
    """The default region name: the file's stem (`monaco` of `monaco.osm.pbf`), lowercased, other
    characters replaced by `-`, cut to 40 characters."""
    stem = path.name.split(".", 1)[0].lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-_")[:40]
    if not NAME.match(name):
        raise RoadImportError(f"cannot make a region name of {path.name!r}: pass --name")
    return name


async def require_pgrouting(conn: asyncpg.Connection) -> None:
    installed = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")
    if not installed:
        raise RoadImportError(
            "pgRouting is not installed in this database: install it on the server "
            "(Debian: postgresql-15-pgrouting) and run `dispatch migrate`, or "
            "CREATE EXTENSION pgrouting as a superuser"
        )


async def _load(
    conn: asyncpg.Connection, graph: Graph, *, name: str, source: str, sha256: str
) -> int:
    await conn.execute("DELETE FROM roads.regions WHERE name = $1", name)
    region_id: int = await conn.fetchval(
        "INSERT INTO roads.regions (name, source, sha256, edges, vertices, area, area_km2) "
        "VALUES ($1, $2, $3, $4, $5, 'SRID=4326;POLYGON EMPTY'::geometry, 0) RETURNING id",
        name,
        source,
        sha256,
        len(graph.edges),
        len(graph.nodes),
    )
    osm_nodes = list(graph.nodes)
    points = shapely.points([graph.nodes[n] for n in osm_nodes])
    await conn.copy_records_to_table(
        "vertices",
        schema_name="roads",
        columns=("region_id", "osm_node", "geom"),
        records=((region_id, n, p) for n, p in zip(osm_nodes, points, strict=True)),
    )
    ids = dict(
        await conn.fetch("SELECT osm_node, id FROM roads.vertices WHERE region_id = $1", region_id)
    )
    lines = [shapely.LineString(e.coords) for e in graph.edges]
    await conn.copy_records_to_table(
        "edges",
        schema_name="roads",
        columns=(
            "region_id",
            "source",
            "target",
            "cost",
            "reverse_cost",
            "length_m",
            "highway",
            "osm_way",
            "geom",
        ),
        records=(
            (
                region_id,
                ids[e.source],
                ids[e.target],
                e.cost,
                e.reverse_cost,
                e.length_m,
                e.highway,
                e.osm_way,
                line,
            )
            for e, line in zip(graph.edges, lines, strict=True)
        ),
    )
    return region_id


async def _mark_main(conn: asyncpg.Connection, region_id: int) -> int:
    """Mark the region's largest strongly connected piece; returns its vertex count."""
    main: int = await conn.fetchval(
        """
        WITH pieces AS (
            -- pgRouting takes its edges as SQL text; the region id goes in as a bound integer.
            SELECT component, node FROM pgr_strongComponents(format(
                'SELECT id, source, target, cost, reverse_cost FROM roads.edges '
                'WHERE region_id = %s', $1::integer))
        ),
        largest AS (
            SELECT component FROM pieces GROUP BY component ORDER BY count(*) DESC, component
            LIMIT 1
        ),
        marked AS (
            UPDATE roads.vertices v SET main = true
            FROM pieces p JOIN largest l USING (component)
            WHERE v.id = p.node AND v.region_id = $1
            RETURNING v.id
        )
        SELECT count(*) FROM marked
        """,
        region_id,
    )
    await conn.execute(
        """
        UPDATE roads.edges e SET main = true
        FROM roads.vertices s, roads.vertices t
        WHERE e.region_id = $1 AND s.id = e.source AND t.id = e.target AND s.main AND t.main
        """,
        region_id,
    )
    return main


async def _set_area(conn: asyncpg.Connection, region_id: int) -> float:
    hull = await conn.fetchval(
        "SELECT ST_GeometryType(ST_ConvexHull(ST_Collect(geom))) FROM roads.vertices "
        "WHERE region_id = $1 AND main",
        region_id,
    )
    if hull != "ST_Polygon":
        raise RoadImportError(
            "the graph's largest connected piece covers no area: nothing to import"
        )
    area_km2: float = await conn.fetchval(
        """
        UPDATE roads.regions r SET area = h.area, area_km2 = ST_Area(h.area::geography) / 1e6
        FROM (
            SELECT ST_ConvexHull(ST_Collect(geom)) AS area FROM roads.vertices
            WHERE region_id = $1 AND main
        ) h
        WHERE r.id = $1
        RETURNING r.area_km2
        """,
        region_id,
    )
    return area_km2


async def import_file(conn: asyncpg.Connection, path: Path, *, name: str | None = None) -> Imported:
    """Import the car graph of an .osm.pbf as region `name` (default: from the file name),
    replacing an earlier import of that name, in one transaction. The connection needs the
    geometry codec of `dispatch.core.db.init_connection`."""
    started = time.perf_counter()
    name = name if name is not None else region_name(path)
    if not NAME.match(name):
        raise RoadImportError(
            f"a region name is 1-40 of a-z, 0-9, _ and -, starting alphanumeric: {name!r}"
        )
    await require_pgrouting(conn)
    try:
        graph = read_graph(path)
    except RuntimeError as exc:  # libosmium's errors: not a PBF, a truncated file
        raise RoadImportError(f"cannot read {path.name}: {exc}") from exc
    if not graph.edges:
        raise RoadImportError(f"{path.name} holds no road a car may drive")
    async with conn.transaction():
        region_id = await _load(conn, graph, name=name, source=path.name, sha256=sha256_file(path))
        main = await _mark_main(conn, region_id)
        area_km2 = await _set_area(conn, region_id)
    return Imported(
        region_id=region_id,
        name=name,
        edges=len(graph.edges),
        vertices=len(graph.nodes),
        main_vertices=main,
        area_km2=area_km2,
        seconds=time.perf_counter() - started,
    )


async def list_regions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every imported region, by name."""
    return await conn.fetch(
        "SELECT id, name, source, edges, vertices, area_km2, imported_at FROM roads.regions "
        "ORDER BY name"
    )


async def drop_region(conn: asyncpg.Connection, name: str) -> bool:
    """Drop a region with its vertices and edges; False when there was none of that name."""
    return (
        await conn.fetchval("DELETE FROM roads.regions WHERE name = $1 RETURNING true", name)
        is True
    )
