"""Bench 5: database time of one request at 30, 300 and 3,000 idle assistants near the pickup.

The per-request work must not grow with the number of assistants around the pickup: matching needs
the nearest N, surge reads maintained per-cell figures. Each cycle calls dispatch.request_assistance
and cancels the request, on one connection, with `track_functions = all`; the figures are the
function's in-database time (pg_stat_user_functions) and how many geography predicates
(st_dwithin, st_distance) one request evaluates.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
from typing import Any

import asyncpg
import orjson

from bench.common import add_extras, bench_database, populate, run, say, write_result
from dispatch.assistance import neighbourhood_r7
from dispatch.config import Settings

PICKUP = (36.7525, 3.04197)  # Algiers centre
RADIUS_M = 5000.0
CLIENTS = 20


def around(rng: random.Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    """A uniform point in the disc of `radius_m` around (lat, lng)."""
    r = radius_m * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(theta) / 111_320
    dlng = r * math.sin(theta) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


async def _function_stats(conn: asyncpg.Connection) -> dict[str, tuple[int, float]]:
    rows = await conn.fetch(
        "SELECT funcname, calls, total_time FROM pg_stat_user_functions "
        "WHERE funcname IN ('request_assistance', 'st_dwithin', 'st_distance')"
    )
    stats: dict[str, tuple[int, float]] = {}
    for r in rows:  # overloads of one name are summed
        calls, total = stats.get(r["funcname"], (0, 0.0))
        stats[r["funcname"]] = (calls + r["calls"], total + r["total_time"])
    return stats


async def measure(
    url: str, population: int, density: int, cycles: int, seed: int
) -> dict[str, Any]:
    """`density` active towing assistants within 5 km of the pickup; `cycles` request+cancel."""
    rng = random.Random(seed + density)
    points = [around(rng, *PICKUP, RADIUS_M) for _ in range(density)]
    _, clients = await add_extras(url, population, assistants=points, clients=CLIENTS)
    cell, neighbours = neighbourhood_r7(*PICKUP)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET track_functions = 'all'")
        durations: list[float] = []
        # Warm-up: plans cached, pages in memory.
        for i in range(cycles + 20):
            client = clients[i % len(clients)]
            if i == 20:
                await conn.execute("SELECT pg_stat_clear_snapshot()")
                await asyncio.sleep(0.6)  # let the stats of the warm-up reach the collector
                before = await _function_stats(conn)
            started = time.perf_counter()
            result = await conn.fetchval(
                "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, "
                "pickup_lng => $3, pickup_cell_r7 => $4, neighbour_cells_r7 => $5)",
                client,
                *PICKUP,
                cell,
                neighbours,
            )
            if i >= 20:
                durations.append(time.perf_counter() - started)
            await conn.execute(
                "SELECT dispatch.update_assistance_status(assistance_id => $1, actor_id => $2, "
                "new_status => 'canceled')",
                orjson.loads(result)["assistance"]["id"],
                client,
            )
        await asyncio.sleep(0.6)
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        after = await _function_stats(conn)
    finally:
        await conn.close()

    def per_request(name: str) -> tuple[float, float]:
        calls = after.get(name, (0, 0.0))[0] - before.get(name, (0, 0.0))[0]
        total = after.get(name, (0, 0.0))[1] - before.get(name, (0, 0.0))[1]
        return calls / cycles, total / max(cycles, 1)

    in_db_calls, in_db_ms = per_request("request_assistance")
    dwithin_calls, _ = per_request("st_dwithin")
    distance_calls, _ = per_request("st_distance")
    return {
        "assistants_within_5km": density,
        "cycles": cycles,
        "in_database_ms_per_request": round(in_db_ms, 3),
        "round_trip_ms_p50": round(statistics.median(durations) * 1000, 3),
        "st_dwithin_per_request": round(dwithin_calls, 1),
        "st_distance_per_request": round(distance_calls, 1),
        "request_assistance_calls": in_db_calls * cycles,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    url = await bench_database(settings)
    await populate(url, args.population)
    rows = []
    for density in args.densities:
        say(f"{density} assistants within 5 km: {args.cycles} request+cancel cycles")
        row = await measure(url, args.population, density, args.cycles, args.seed)
        say(
            f"  {row['in_database_ms_per_request']} ms in the database per request, "
            f"{row['st_dwithin_per_request']} st_dwithin, {row['st_distance_per_request']} "
            "st_distance"
        )
        rows.append(row)
    times = [r["in_database_ms_per_request"] for r in rows]
    figures = {"rows": rows, "max_over_min": round(max(times) / min(times), 3) if times else None}
    write_result("density", vars(args), figures)
    return figures


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.density", description=__doc__)
    p.add_argument("--population", type=int, default=10_000, help="assistants city-wide")
    p.add_argument("--densities", type=int, nargs="+", default=[30, 300, 3000])
    p.add_argument("--cycles", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    return [
        f"| density: {r['assistants_within_5km']} assistants within 5 km | "
        f"{r['in_database_ms_per_request']} ms in the database per request, "
        f"{r['st_dwithin_per_request']} st_dwithin |"
        for r in figures["rows"]
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = run(main_async(parser().parse_args(argv)))
    return figures


if __name__ == "__main__":
    main()
