"""Bench 5: the database cost of one request at 30, 300 and 3,000 assistants near the pickup.

The per-request work must not grow with the number of assistants around the pickup: matching needs
the nearest N, surge reads maintained per-cell figures. One set-up: the city-wide population plus
3,000 extra towing assistants uniform within 5 km of the pickup (any prefix of them is uniform too).
A density d is switched on by one UPDATE of `is_active` (the first d extras active, the others
not), a VACUUM ANALYZE and a few unmeasured cycles. The densities are interleaved: R rounds each
visit all of them, the first one rotating (balanced when R is a multiple of their number), so that
drift on a shared machine (table growth, autovacuum, other load) falls on every density alike.
Each cycle calls dispatch.request_assistance on one local connection and cancels the request. Per
request: the client-side round trip and, on a few cycles per visit run under EXPLAIN (ANALYZE,
BUFFERS), the shared buffers it touches (the top node's counts include the nested function's
statements) and its st_dwithin / st_distance calls (`track_functions = all`, the difference of
pg_stat_xact_user_functions around the call inside one transaction).
"""

from __future__ import annotations

import argparse
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
TRACKED = ("request_assistance", "st_dwithin", "st_distance")
REQUEST = (
    "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, pickup_lng => $3, "
    "pickup_cell_r7 => $4, neighbour_cells_r7 => $5)"
)
CANCEL = (
    "SELECT dispatch.update_assistance_status(assistance_id => $1, actor_id => $2, "
    "new_status => 'canceled')"
)


def around(rng: random.Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    """A uniform point in the disc of `radius_m` around (lat, lng)."""
    r = radius_m * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(theta) / 111_320
    dlng = r * math.sin(theta) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


class Cycles:
    """Request-and-cancel cycles at the pickup on one connection, clients taken in turn (a client
    has at most one open request)."""

    def __init__(self, conn: asyncpg.Connection, clients: list[int]) -> None:
        self.conn, self.clients, self.turn = conn, clients, 0
        self.args = (*PICKUP, *neighbourhood_r7(*PICKUP))

    def _client(self) -> int:
        self.turn += 1
        return self.clients[self.turn % len(self.clients)]

    async def timed(self) -> float:
        """One cycle; the request's round trip in seconds."""
        client = self._client()
        started = time.perf_counter()
        result = await self.conn.fetchval(REQUEST, client, *self.args)
        elapsed = time.perf_counter() - started
        await self.conn.execute(CANCEL, orjson.loads(result)["assistance"]["id"], client)
        return elapsed

    async def explained(self) -> dict[str, float]:
        """One cycle with the request under EXPLAIN ANALYZE, in a transaction of its own: the shared
        buffers (hit + read) it touched, its execution ms and its calls of the tracked functions."""
        client = self._client()
        async with self.conn.transaction():  # no stats flush inside: the difference is this call's
            before = await function_calls(self.conn)
            plan = orjson.loads(
                await self.conn.fetchval(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + REQUEST, client, *self.args
                )
            )[0]
            after = await function_calls(self.conn)
        assistance_id = await self.conn.fetchval(
            "SELECT max(id) FROM dispatch.assistance_requests WHERE client_id = $1 "
            "AND status = 'requested'",
            client,
        )
        await self.conn.execute(CANCEL, assistance_id, client)
        if after["request_assistance"] - before["request_assistance"] != 1:
            raise RuntimeError("pg_stat_xact_user_functions did not count the request once")
        top = plan["Plan"]
        return {
            "buffers": top["Shared Hit Blocks"] + top["Shared Read Blocks"],
            "execution_ms": plan["Execution Time"],
            **{f: after[f] - before[f] for f in TRACKED},
        }


async def function_calls(conn: asyncpg.Connection) -> dict[str, int]:
    """Calls of the tracked functions counted by this backend and not yet flushed to the shared
    statistics (pg_stat_xact_user_functions; they include earlier transactions' calls)."""
    rows = await conn.fetch(
        "SELECT funcname, calls FROM pg_stat_xact_user_functions WHERE funcname = ANY ($1::text[])",
        list(TRACKED),
    )
    calls = dict.fromkeys(TRACKED, 0)
    for r in rows:  # overloads of one name are summed
        calls[r["funcname"]] += r["calls"]
    return calls


async def switch(conn: asyncpg.Connection, extras: list[int], density: int) -> int:
    """The first `density` extras active, the others inactive (their matchable flags follow by
    trigger). VACUUM drops the index entries of the flipped rows' old versions (KNN scans would
    walk past them until autovacuum came by) and ANALYZE fits the statistics to this density, so
    autovacuum and autoanalyze, whose visits re-plan the session's cached plans, rarely fall
    inside a visit. Returns the matchable towing assistants within 5 km, population included."""
    await conn.execute(
        "UPDATE dispatch.assistants SET is_active = (user_id < $2) "
        "WHERE user_id = ANY ($1::bigint[]) AND is_active IS DISTINCT FROM (user_id < $2)",
        extras,
        extras[0] + density,
    )
    await conn.execute("VACUUM ANALYZE")  # the whole bench database: under a second
    extra, near = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE p.user_id = ANY ($1::bigint[])), count(*) FILTER "
        "(WHERE a.service_type = 'towing' AND ST_DWithin(p.geog, "
        "ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography, $4)) "
        "FROM dispatch.positions p JOIN dispatch.assistants a USING (user_id) WHERE p.matchable",
        extras,
        *PICKUP,
        RADIUS_M,
    )
    if extra != density:
        raise RuntimeError(f"{extra} extras matchable, {density} expected")
    return int(near)


async def visit(cycles: Cycles, extras: list[int], density: int, args: argparse.Namespace) -> dict:
    """One density's turn in a round: switch, warm up, measure."""
    near = await switch(cycles.conn, extras, density)
    for _ in range(args.warmup):
        await cycles.timed()
    times = [await cycles.timed() for _ in range(args.cycles)]
    explained = [await cycles.explained() for _ in range(args.explain)]
    return {"times": times, "explained": explained, "near": near}


def figures_for(density: int, visits: list[dict]) -> dict[str, Any]:
    """One density's row from its visits (one per round)."""
    round_p50s = [round(statistics.median(v["times"]) * 1000, 3) for v in visits]
    times = [t for v in visits for t in v["times"]]
    explained = [e for v in visits for e in v["explained"]]
    buffers = [e["buffers"] for e in explained]
    return {
        "assistants_within_5km": density,
        "with_population_within_5km": visits[0]["near"],  # matchable towing, city-wide ones too
        "cycles": len(times),
        "round_trip_ms_p50": round(statistics.median(times) * 1000, 3),
        "round_trip_ms_round_p50s": round_p50s,
        "round_trip_ms_spread": [min(round_p50s), max(round_p50s)],
        "explained_cycles": len(explained),
        "shared_buffers_p50": statistics.median(buffers),
        "shared_buffers_range": [min(buffers), max(buffers)],
        "explain_execution_ms_p50": round(
            statistics.median(e["execution_ms"] for e in explained), 3
        ),
        "st_dwithin_per_request": round(statistics.fmean(e["st_dwithin"] for e in explained), 1),
        "st_distance_per_request": round(statistics.fmean(e["st_distance"] for e in explained), 1),
    }


def max_over_min(values: list[float]) -> float:
    return round(max(values) / min(values), 3)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    url = await bench_database(Settings.from_env())
    await populate(url, args.population)
    rng = random.Random(args.seed)
    points = [around(rng, *PICKUP, RADIUS_M) for _ in range(max(args.densities))]
    extras, clients = await add_extras(url, args.population, assistants=points, clients=CLIENTS)
    densities = list(args.densities)
    visits: dict[int, list[dict]] = {d: [] for d in densities}
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET track_functions = 'all'")
        cycles = Cycles(conn, clients)
        # The request tables start empty: until they hold some history the planner picks plans
        # for empty tables whose cost grows with them (the first visits read ~40 % more buffers).
        say(f"settling: {args.settle} unmeasured cycles")
        await switch(conn, extras, densities[0])
        for _ in range(args.settle):
            await cycles.timed()
        for r in range(args.rounds):
            order = densities[r % len(densities) :] + densities[: r % len(densities)]
            for density in order:
                v = await visit(cycles, extras, density, args)
                visits[density].append(v)
                say(
                    f"round {r + 1}/{args.rounds}, {density} within 5 km: round trip p50 "
                    f"{statistics.median(v['times']) * 1000:.3f} ms, buffers "
                    f"{[e['buffers'] for e in v['explained']]}"
                )
    finally:
        await conn.close()
    rows = [figures_for(d, visits[d]) for d in densities]
    figures = {
        "rows": rows,
        "max_over_min": {
            k: max_over_min([r[k] for r in rows])
            for k in ("round_trip_ms_p50", "shared_buffers_p50", "st_dwithin_per_request")
        },
    }
    write_result("density", vars(args), figures)
    for line in summary_lines(figures):
        say(line)
    return figures


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.density", description=__doc__)
    p.add_argument("--population", type=int, default=10_000, help="assistants city-wide")
    p.add_argument("--densities", type=int, nargs="+", default=[30, 300, 3000])
    p.add_argument("--rounds", type=int, default=9, help="rounds over all densities")
    p.add_argument("--cycles", type=int, default=40, help="measured cycles per density and round")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured cycles after each switch")
    p.add_argument("--settle", type=int, default=300, help="unmeasured cycles after set-up")
    p.add_argument("--explain", type=int, default=5, help="EXPLAIN cycles per visit (>= 1)")
    p.add_argument("--seed", type=int, default=1)
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    lines = [
        f"| density: {r['assistants_within_5km']} assistants within 5 km | round trip p50 "
        f"{r['round_trip_ms_p50']} ms (rounds {r['round_trip_ms_spread'][0]}-"
        f"{r['round_trip_ms_spread'][1]}), {r['shared_buffers_p50']} shared buffers, "
        f"{r['st_dwithin_per_request']} st_dwithin per request |"
        for r in figures["rows"]
    ]
    m = figures["max_over_min"]
    lines.append(
        f"| density: max/min over densities | round trip {m['round_trip_ms_p50']}, "
        f"buffers {m['shared_buffers_p50']}, st_dwithin {m['st_dwithin_per_request']} |"
    )
    return lines


def main(argv: list[str] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = run(main_async(parser().parse_args(argv)))
    return figures


if __name__ == "__main__":
    main()
