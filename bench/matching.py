"""Bench 1 — matching at scale: nearest-10 eligible assistants within 10 km, three strategies.

Strategies: our SQL function (GiST KNN), an H3 ring pre-filter in SQL, and the original service's
approach (load the eligible active assistants, compute haversine distances in Python).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import time
from typing import Any

import asyncpg
import h3

from bench.common import bench_database, populate, random_point, say, summary_ms, write_result
from dispatch.core.config import Settings

RADIUS_M = 10_000.0
TOP_N = 10
SERVICE = "towing"

KNN_SQL = """
SELECT assistant_id, distance_m
FROM dispatch.nearby_assistants(lat => $1, lng => $2, service_type => $3,
                                radius_m => $4, max_results => $5)
"""

H3_SQL = """
SELECT p.user_id AS assistant_id, ST_Distance(p.geog, q.pt) AS distance_m
FROM dispatch.positions p
JOIN dispatch.assistants a ON a.user_id = p.user_id,
     LATERAL (SELECT ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography AS pt) q
WHERE p.h3_r7 = ANY($3::bigint[])
  AND a.is_active AND a.service_type = $4 AND a.driving_license_expiry > current_date
  AND NOT EXISTS (SELECT 1 FROM dispatch.assistance_requests r
                  WHERE r.assistant_id = a.user_id AND r.status IN ('accepted', 'ongoing'))
  AND ST_DWithin(p.geog, q.pt, $5)
ORDER BY distance_m
LIMIT $6
"""

LOAD_SQL = """
SELECT a.user_id, ST_Y(p.geog::geometry) AS lat, ST_X(p.geog::geometry) AS lng
FROM dispatch.assistants a JOIN dispatch.positions p ON p.user_id = a.user_id
WHERE a.is_active AND a.service_type = $1 AND a.driving_license_expiry > current_date
  AND NOT EXISTS (SELECT 1 FROM dispatch.assistance_requests r
                  WHERE r.assistant_id = a.user_id AND r.status IN ('accepted', 'ongoing'))
"""

# A resolution-7 ring of k cells covers at least k * 1.5 * (shortest edge) around the centre cell.
H3_K = math.ceil(RADIUS_M / 1000 / (1.5 * h3.average_hexagon_edge_length(7, "km") * 0.85)) + 1


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


async def knn(conn: asyncpg.Connection, lat: float, lng: float) -> list[int]:
    rows = await conn.fetch(KNN_SQL, lat, lng, SERVICE, RADIUS_M, TOP_N)
    return [r["assistant_id"] for r in rows]


async def h3_ring(conn: asyncpg.Connection, lat: float, lng: float) -> list[int]:
    ring = [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(lat, lng, 7), H3_K)]
    rows = await conn.fetch(H3_SQL, lat, lng, ring, SERVICE, RADIUS_M, TOP_N)
    return [r["assistant_id"] for r in rows]


async def python_haversine(conn: asyncpg.Connection, lat: float, lng: float) -> list[int]:
    rows = await conn.fetch(LOAD_SQL, SERVICE)
    scored = []
    for r in rows:
        d = haversine_m(lat, lng, r["lat"], r["lng"])
        if d <= RADIUS_M:
            scored.append((d, r["user_id"]))
    scored.sort()
    return [uid for _, uid in scored[:TOP_N]]


STRATEGIES = {"sql_knn": knn, "sql_h3_ring": h3_ring, "python_haversine": python_haversine}


async def db_time_ms(conn: asyncpg.Connection, points: list[tuple[float, float]]) -> dict[str, Any]:
    """In-database execution time of our function, from EXPLAIN ANALYZE with TIMING OFF (per-node
    clocks would inflate it; no network, no client), and the planning time beside it."""
    times, planning = [], []
    for lat, lng in points:
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + KNN_SQL,
            lat,
            lng,
            SERVICE,
            RADIUS_M,
            TOP_N,
        )
        doc: Any = plan if not isinstance(plan, str) else json.loads(plan)
        times.append(doc[0]["Execution Time"] / 1000)
        planning.append(doc[0]["Planning Time"] / 1000)
    return summary_ms(times) | {"planning_p50_ms": summary_ms(planning)["p50_ms"]}


async def bench_n(url: str, n: int, queries: int, python_queries: int, seed: int) -> dict[str, Any]:
    await populate(url, n)
    rng = random.Random(seed)
    points = [random_point(rng) for _ in range(queries)]
    conn = await asyncpg.connect(url)
    out: dict[str, Any] = {"n": n}
    try:
        for lat, lng in points[:20]:  # warm caches and check the strategies agree
            a, b = await knn(conn, lat, lng), await h3_ring(conn, lat, lng)
            assert a == b, f"H3 ring variant disagrees with KNN at {lat},{lng}"
        found = 0
        for lat, lng in points[:3]:
            expected = await knn(conn, lat, lng)
            assert expected == await python_haversine(conn, lat, lng)
            found += len(expected)
        assert found, "no strategy found anybody: is the population active?"
        for name, fn in STRATEGIES.items():
            count = python_queries if name == "python_haversine" else queries
            latencies = []
            started = time.perf_counter()
            for lat, lng in points[:count]:
                t0 = time.perf_counter()
                await fn(conn, lat, lng)
                latencies.append(time.perf_counter() - t0)
            wall = time.perf_counter() - started
            out[name] = summary_ms(latencies) | {"qps": round(count / wall, 1)}
            say(
                f"  N={n:>9,} {name:<17} p50 {out[name]['p50_ms']:8.3f} ms  "
                f"p99 {out[name]['p99_ms']:8.3f} ms  {out[name]['qps']:8.1f} q/s"
            )
        out["sql_knn_db"] = await db_time_ms(conn, points[:200])
        say(
            f"  N={n:>9,} sql_knn in-database p50 {out['sql_knn_db']['p50_ms']:.3f} ms "
            f"p99 {out['sql_knn_db']['p99_ms']:.3f} ms "
            f"(+ planning p50 {out['sql_knn_db']['planning_p50_ms']:.3f} ms)"
        )
    finally:
        await conn.close()
    return out


def plot(results: list[dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ns = [r["n"] for r in results]
    for name in STRATEGIES:
        ax.plot(ns, [r[name]["p50_ms"] for r in results], marker="o", label=f"{name} p50")
        ax.plot(ns, [r[name]["p99_ms"] for r in results], marker="x", ls="--", label=f"{name} p99")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("positioned assistants (N)")
    ax.set_ylabel("latency per query, ms (client round trip)")
    ax.set_title("Nearest 10 eligible assistants within 10 km")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    url = await bench_database(Settings.from_env())
    results = []
    for n in args.n:
        python_q = max(5, min(args.python_queries, int(args.python_queries * 100_000 / n)))
        results.append(await bench_n(url, n, args.queries, python_q, args.seed))
    return {"results": results}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="numbers of positioned assistants (default: 10k 100k 1M)",
    )
    parser.add_argument("--queries", type=int, default=500, help="queries per SQL strategy")
    parser.add_argument(
        "--python-queries",
        type=int,
        default=30,
        help="queries for the Python approach at N=100k (scaled with N)",
    )
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    from bench.common import RESULTS

    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(figures["results"], str(RESULTS / "matching_latency_vs_n.png"))
    knn_100k = next((r for r in figures["results"] if r["n"] == 100_000), None)
    if knn_100k:
        figures["speedup_vs_python_at_100k"] = round(
            knn_100k["python_haversine"]["p50_ms"] / knn_100k["sql_knn"]["p50_ms"], 1
        )
    path = write_result("matching", vars(args), figures)
    say(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
