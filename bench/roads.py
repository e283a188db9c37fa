"""Bench 9: what road ranking costs the database, on the Monaco graph and on a tiled graph of
≥ 300,000 edges (copies of Monaco shifted side by side).

On its own database (`<db>_bench_roads`) it imports Monaco (© OpenStreetMap contributors), puts N
active towing assistants at the midpoints of random main edges and times
`dispatch.candidates_json(NULL, pickup, 'towing', radius)` in the database (EXPLAIN ANALYZE, TIMING
OFF: execution + planning, no network) for pickups at the midpoints of other main edges: ranked by
road time, and with roads_max_edges set to 0 (every routing call over budget: the straight line),
the two alternated pickup by pickup in the same session. It checks each call's eta_source, and
times the parts of a road ranking (snapping the 30 preselected origins, the box estimate, the
pgRouting search, the whole of roads.times_to) on the first pickups.

Then it copies Monaco's region, vertices and edges `--copies` - 1 times in SQL, each shifted on a
grid of 0.15° of longitude by 0.06° of latitude (tiles that do not overlap), moves the assistants
to the copy in the middle of the grid and measures the same.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter
from typing import Any

import asyncpg
import orjson

from bench.common import add_extras, bench_database, run, say, summary_ms, write_result
from dispatch.core.config import Settings
from dispatch.core.db import init_connection
from dispatch.roads import extracts, importer

REGION = "monaco"
COPY_PREFIX = "monaco_copy_"
STEP_LNG, STEP_LAT = 0.15, 0.06  # Monaco's area spans 0.141° x 0.055°
ARMS = ("road", "straight_line")
PRESELECTED = 30  # matching_max_results x roads_preselect_factor

CANDIDATES = (
    "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) "
    "SELECT dispatch.candidates_json(NULL, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, "
    "'towing', $3)"
)
SOURCES = (
    "SELECT dispatch.candidates_json(NULL, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, "
    "'towing', $3)::text"
)
SET_BUDGET = (
    "UPDATE dispatch.settings SET value = to_jsonb($1::bigint) WHERE key = 'roads_max_edges'"
)
# The parts of one road ranking, each timed alone. $1: the pickup (EWKT), $2: the origins (EWKT).
ORIGINS = (
    "SELECT array_agg(ST_AsEWKT(g) ORDER BY d) FROM (SELECT p.geog::geometry AS g, "
    "p.geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS d "
    "FROM dispatch.positions p ORDER BY d LIMIT $3) x"
)
PARTS = {
    "snap_origins": (
        # The points parsed first: an inlined roads.snap would parse its argument at every use.
        "SELECT count(s.edge_id) FROM unnest(ARRAY(SELECT ST_GeomFromEWKT(t) FROM unnest($2::text[]) t)) "
        "u(g) LEFT JOIN LATERAL roads.snap(u.g) s ON true WHERE $1::text IS NOT NULL"
    ),
    "snap_pickup": "SELECT count(*) FROM roads.snap(ST_GeomFromEWKT($1)) WHERE $2::text[] IS NOT NULL",
    "box": (
        "SELECT roads.routing_box(ARRAY(SELECT ST_GeomFromEWKT(t) FROM unnest($2::text[]) t) "
        "|| ST_GeomFromEWKT($1))"
    ),
    "times_to": (
        "SELECT count(*) FROM roads.times_to(ST_GeomFromEWKT($1), "
        "ARRAY(SELECT ST_GeomFromEWKT(t) FROM unnest($2::text[]) t))"
    ),
}
# The pgRouting search alone, on the edge ends of the snapped points ($1 entries, $2 exits, $3 box).
DIJKSTRA = (
    "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT count(*) FROM pgr_dijkstraCost("
    "format('SELECT id, source, target, reverse_cost AS cost, cost AS reverse_cost "
    "FROM roads.edges WHERE main AND geom && %L::geometry', ST_GeomFromEWKT($3)), "
    "$1::bigint[], $2::bigint[], true)"
)
ENDS = (
    "SELECT ARRAY(SELECT DISTINCT unnest(ARRAY[s.source, s.target]) "
    "FROM unnest($2::text[]) u(t), roads.snap(ST_GeomFromEWKT(u.t)) s), "
    "ARRAY(SELECT unnest(ARRAY[s.source, s.target]) FROM roads.snap(ST_GeomFromEWKT($1)) s), "
    "ST_AsEWKT(roads.routing_box(ARRAY(SELECT ST_GeomFromEWKT(t) FROM unnest($2::text[]) t) "
    "|| ST_GeomFromEWKT($1)))"
)


def _ms(plan: Any) -> float:
    doc = plan if not isinstance(plan, str) else orjson.loads(plan)
    return float(doc[0]["Execution Time"] + doc[0]["Planning Time"]) / 1000


async def prepare_monaco(conn: asyncpg.Connection) -> int:
    """Only the Monaco region in the database (imported afresh); its id."""
    # TRUNCATE: a DELETE cascades from each vertex to edges by source and target, which no index
    # serves (a scan of the edges per vertex: hours for the tiled graph).
    await conn.execute("TRUNCATE roads.edges, roads.vertices, roads.regions RESTART IDENTITY")
    imported = await importer.import_file(conn, extracts.fetch(REGION), name=REGION)
    await conn.execute("ANALYZE roads.regions, roads.vertices, roads.edges")
    say(f"imported {REGION}: {imported.edges:,} edges in {imported.seconds:.1f} s")
    return imported.region_id


def grid(copies: int) -> tuple[int, int]:
    """Columns of the tiling and the index of the copy nearest its middle."""
    cols = math.ceil(math.sqrt(copies))
    rows = math.ceil(copies / cols)
    return cols, min(copies - 1, (rows // 2) * cols + cols // 2)


async def tile(conn: asyncpg.Connection, region_id: int, copies: int) -> int:
    """Monaco and copies - 1 shifted copies of it (new ids: each copy's offset by k x the largest
    id); the edges in the database."""
    cols, _ = grid(copies)
    started = time.monotonic()
    async with conn.transaction():
        for table in ("edges", "vertices", "regions"):  # edges first: see prepare_monaco
            key = "id" if table == "regions" else "region_id"
            await conn.execute(
                f"DELETE FROM roads.{table} WHERE {key} IN "
                "(SELECT id FROM roads.regions WHERE name LIKE $1)",
                COPY_PREFIX + "%",
            )
        await conn.execute(
            """
            CREATE TEMP TABLE bench_copies ON COMMIT DROP AS
            SELECT k, (k % $2::int) * $3::float8 AS dx, (k / $2::int) * $4::float8 AS dy
            FROM generate_series(1, $1::int - 1) AS k
            """,
            copies,
            cols,
            STEP_LNG,
            STEP_LAT,
        )
        await conn.execute(
            """
            INSERT INTO roads.regions (name, source, sha256, edges, vertices, area, area_km2)
            SELECT $2 || c.k, r.source, r.sha256, r.edges, r.vertices,
                   ST_Translate(r.area, c.dx, c.dy), r.area_km2
            FROM roads.regions r, bench_copies c WHERE r.id = $1
            """,
            region_id,
            COPY_PREFIX,
        )
        await conn.execute(
            "ALTER TABLE bench_copies ADD COLUMN region_id int; "
            "UPDATE bench_copies c SET region_id = r.id FROM roads.regions r "
            f"WHERE r.name = '{COPY_PREFIX}' || c.k"
        )
        v_step = await conn.fetchval("SELECT max(id) FROM roads.vertices")
        e_step = await conn.fetchval("SELECT max(id) FROM roads.edges")
        await conn.execute(
            """
            INSERT INTO roads.vertices (id, region_id, osm_node, main, geom) OVERRIDING SYSTEM VALUE
            SELECT v.id + c.k * $2::bigint, c.region_id, v.osm_node, v.main, ST_Translate(v.geom, c.dx, c.dy)
            FROM roads.vertices v, bench_copies c WHERE v.region_id = $1
            """,
            region_id,
            v_step,
        )
        await conn.execute(
            """
            INSERT INTO roads.edges (id, region_id, source, target, cost, reverse_cost, length_m,
                                     highway, osm_way, main, geom) OVERRIDING SYSTEM VALUE
            SELECT e.id + c.k * $3::bigint, c.region_id, e.source + c.k * $2::bigint, e.target + c.k * $2::bigint, e.cost,
                   e.reverse_cost, e.length_m, e.highway, e.osm_way, e.main,
                   ST_Translate(e.geom, c.dx, c.dy)
            FROM roads.edges e, bench_copies c WHERE e.region_id = $1
            """,
            region_id,
            v_step,
            e_step,
        )
        for table in ("vertices", "edges"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('roads.{table}', 'id'), "
                f"(SELECT max(id) FROM roads.{table}))"
            )
    await conn.execute("VACUUM ANALYZE roads.regions, roads.vertices, roads.edges")
    edges = int(await conn.fetchval("SELECT count(*) FROM roads.edges"))
    say(f"tiled {copies} copies of {REGION}: {edges:,} edges in {time.monotonic() - started:.1f} s")
    return edges


async def midpoints(conn: asyncpg.Connection, region_id: int) -> list[tuple[float, float]]:
    rows = await conn.fetch(
        "SELECT ST_Y(p) AS lat, ST_X(p) AS lng FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p "
        "FROM roads.edges WHERE region_id = $1 AND main ORDER BY id) x",
        region_id,
    )
    return [(r["lat"], r["lng"]) for r in rows]


async def measure(
    conn: asyncpg.Connection,
    budget: int,
    pickups: list[tuple[float, float]],
    radius_m: float,
    parts_of: int,
) -> dict[str, Any]:
    """Both arms for every pickup (alternating which goes first), then the parts of a road
    ranking on the first `parts_of` pickups."""
    times: dict[str, list[float]] = {a: [] for a in ARMS}
    sources: dict[str, Counter[str]] = {a: Counter() for a in ARMS}
    for i, (lat, lng) in enumerate(pickups):
        for arm in ARMS if i % 2 == 0 else ARMS[::-1]:
            await conn.execute(SET_BUDGET, budget if arm == "road" else 0)
            found = orjson.loads(await conn.fetchval(SOURCES, lng, lat, radius_m))
            sources[arm].update(c["eta_source"] for c in found)
            times[arm].append(_ms(await conn.fetchval(CANDIDATES, lng, lat, radius_m)))
    await conn.execute(SET_BUDGET, budget)
    parts: dict[str, list[float]] = {k: [] for k in [*PARTS, "dijkstra"]}
    for lat, lng in pickups[:parts_of]:
        pickup = f"SRID=4326;POINT({lng!r} {lat!r})"
        origins = await conn.fetchval(ORIGINS, lng, lat, PRESELECTED)
        for name, sql in PARTS.items():
            plan = await conn.fetchval(
                "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, pickup, origins
            )
            parts[name].append(_ms(plan))
        exits, entries, box = await conn.fetchrow(ENDS, pickup, origins)
        if box is not None:
            parts["dijkstra"].append(_ms(await conn.fetchval(DIJKSTRA, entries, exits, box)))
    road, line = summary_ms(times["road"]), summary_ms(times["straight_line"])
    return {
        "pickups": len(pickups),
        "road": road,
        "straight_line": line,
        "added_p50_ms": round(road["p50_ms"] - line["p50_ms"], 3),
        "eta_sources": {a: dict(sources[a]) for a in ARMS},
        "parts_p50_ms": {k: summary_ms(v)["p50_ms"] for k, v in parts.items() if v},
    }


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median round's figures (by added p50) with the spread of each figure over the rounds."""

    def spread(get: Any) -> list[float]:
        values = [get(r) for r in rounds]
        return [min(values), max(values)]

    ordered = sorted(rounds, key=lambda r: r["added_p50_ms"])
    median = dict(ordered[len(ordered) // 2])
    median["parts_p50_ms"] = rounds[0]["parts_p50_ms"]
    median["eta_sources"] = {
        a: dict(sum((Counter(r["eta_sources"][a]) for r in rounds), Counter())) for a in ARMS
    }
    median["rounds"] = len(rounds)
    median["spread"] = {
        "road_p50_ms": spread(lambda r: r["road"]["p50_ms"]),
        "straight_line_p50_ms": spread(lambda r: r["straight_line"]["p50_ms"]),
        "added_p50_ms": spread(lambda r: r["added_p50_ms"]),
    }
    return median


async def place(
    url: str,
    rng: random.Random,
    spots: list[tuple[float, float]],
    n: int,
    shift: tuple[float, float],
) -> None:
    dx, dy = shift
    chosen = [rng.choice(spots) for _ in range(n)]
    await add_extras(url, 0, assistants=[(lat + dy, lng + dx) for lat, lng in chosen])
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE dispatch.positions, dispatch.assistants")
    finally:
        await conn.close()


async def graph_rows(
    url: str,
    conn: asyncpg.Connection,
    args: argparse.Namespace,
    region_id: int,
    budget: int,
    shift: tuple[float, float],
    edges: int,
    copies: int,
) -> list[dict[str, Any]]:
    rng = random.Random(args.seed)
    spots = await midpoints(conn, region_id)
    dx, dy = shift
    rows = []
    for n in args.assistants:
        await place(url, rng, spots, n, shift)
        pickups = [(lat + dy, lng + dx) for lat, lng in rng.sample(spots, args.pickups)]
        # Warm-up: the session's plans and the graph's pages, both arms.
        await measure(conn, budget, pickups[: args.warmup], args.radius_m, 0)
        rounds = [
            await measure(conn, budget, pickups, args.radius_m, args.parts if k == 0 else 0)
            for k in range(args.rounds)
        ]
        r = combine(rounds) | {"assistants": n, "edges": edges, "copies": copies}
        say(
            f"  {edges:,} edges, {n:,} assistants: road p50 {r['road']['p50_ms']} ms "
            f"(p90 {r['road']['p90_ms']}), straight line p50 {r['straight_line']['p50_ms']} ms "
            f"(p90 {r['straight_line']['p90_ms']}): +{r['added_p50_ms']} ms; "
            f"parts {r['parts_p50_ms']}; sources {r['eta_sources']}"
        )
        rows.append(r)
    return rows


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    return await bench_roads(await bench_database(Settings.from_env(), "_bench_roads"), args)


async def bench_roads(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Both graphs measured on the database at `url` (its graphs and users are replaced)."""
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    budget = int(
        await conn.fetchval(
            "SELECT (value #>> '{}')::bigint FROM dispatch.settings WHERE key = 'roads_max_edges'"
        )
    )
    try:
        region_id = await prepare_monaco(conn)
        edges = int(await conn.fetchval("SELECT count(*) FROM roads.edges"))
        small = await graph_rows(url, conn, args, region_id, budget, (0.0, 0.0), edges, 1)
        large: list[dict[str, Any]] = []
        if args.copies > 1:
            edges = await tile(conn, region_id, args.copies)
            cols, middle = grid(args.copies)
            shift = ((middle % cols) * STEP_LNG, (middle // cols) * STEP_LAT)
            large = await graph_rows(url, conn, args, region_id, budget, shift, edges, args.copies)
    finally:
        await conn.execute(SET_BUDGET, budget)
        await conn.close()
    return {"budget_edges": budget, "rows": small + large}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.roads", description=__doc__)
    p.add_argument("--assistants", type=int, nargs="+", default=[500, 2000])
    p.add_argument("--pickups", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10, help="unmeasured pickups first")
    p.add_argument(
        "--parts", type=int, default=40, help="pickups whose parts are timed (first round)"
    )
    p.add_argument("--rounds", type=int, default=3, help="repeats; the median one is reported")
    p.add_argument("--copies", type=int, default=120, help="Monaco tiles of the large graph")
    p.add_argument("--radius-m", type=float, default=10_000)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--name", default="roads", help="result file name under bench/results/")
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    return [
        f"  {r['edges']:,} edges, {r['assistants']:,} assistants: road p50/p90 "
        f"{r['road']['p50_ms']}/{r['road']['p90_ms']} ms, straight line "
        f"{r['straight_line']['p50_ms']}/{r['straight_line']['p90_ms']} ms, added p50 "
        f"{r['added_p50_ms']} ms (over {r['rounds']} rounds {r['spread']['added_p50_ms']})"
        for r in figures["rows"]
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    figures: dict[str, Any] = run(main_async(args))
    for line in summary_lines(figures):
        say(line)
    write_result(args.name, vars(args), figures)
    return figures


if __name__ == "__main__":
    main()
