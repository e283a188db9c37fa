"""Bench 5: the database cost of one request at 30, 300 and 3,000 assistants near the pickup.

The per-request work must not grow with the number of assistants around the pickup: matching needs
the nearest N, surge reads maintained per-cell figures. Three pickup sites, far from each other and
from the city-wide population, each with its own density of active towing assistants uniform
within 5 km (30, 300, 3,000). The cycles are interleaved one by one (site A, B, C, then B, C, A,
...), so that whatever the shared machine does at any moment (other load, autovacuum, table growth)
falls on every density alike. Each cycle calls dispatch.request_assistance on one local connection
and cancels the request. Per request: the client-side round trip and, on some cycles run under
EXPLAIN (ANALYZE, BUFFERS), the shared buffers it touches (the top node's counts include the nested
function's statements) and its st_dwithin / st_distance calls (`track_functions = all`, the
difference of pg_stat_xact_user_functions around the call inside one transaction).
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
from dispatch.assistance.lifecycle import neighbourhood_r7
from dispatch.core.config import Settings

# South of the populated 100 km square around Algiers (bench.common.CENTER, SPAN_KM) and ~75 km
# apart: a 5 km disc around each holds only its own assistants.
SITES = ((35.9, 2.2), (35.9, 3.06), (35.9, 3.9))
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
    """Request-and-cancel cycles at one site on one connection, clients shared by all sites and
    taken in turn (a client has at most one open request)."""

    def __init__(self, conn: asyncpg.Connection, clients: list[int], site: tuple[float, float]):
        self.conn, self.clients = conn, clients
        self.args = (*site, *neighbourhood_r7(*site))

    def _client(self) -> int:
        client = self.clients[0]
        self.clients.append(self.clients.pop(0))
        return client

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


async def near_count(conn: asyncpg.Connection, site: tuple[float, float]) -> int:
    """Matchable towing assistants within 5 km of a site, whoever they are."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM dispatch.positions p JOIN dispatch.assistants a USING (user_id) "
            "WHERE p.matchable AND a.service_type = 'towing' AND ST_DWithin(p.geog, "
            "ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography, $3)",
            *site,
            RADIUS_M,
        )
    )


def blocks(values: list[float], n: int) -> list[float]:
    """Medians (ms) of `n` consecutive blocks of a density's cycles: how much the time drifted."""
    size = max(len(values) // n, 1)
    return [
        round(statistics.median(values[i : i + size]) * 1000, 3)
        for i in range(0, size * n if len(values) >= n else len(values), size)
    ]


def figures_for(density: int, near: int, times: list[float], explained: list[dict]) -> dict:
    """One density's row."""
    block_p50s = blocks(times, 10)
    buffers = [e["buffers"] for e in explained]
    return {
        "assistants_within_5km": density,
        "matchable_within_5km": near,
        "cycles": len(times),
        "round_trip_ms_p50": round(statistics.median(times) * 1000, 3),
        "round_trip_ms_block_p50s": block_p50s,
        "round_trip_ms_spread": [min(block_p50s), max(block_p50s)],
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
    densities = list(args.densities)
    if len(densities) > len(SITES):
        raise SystemExit(f"at most {len(SITES)} densities (one site each)")
    url = await bench_database(Settings.from_env())
    await populate(url, args.population)
    rng = random.Random(args.seed)
    points = [around(rng, *SITES[i], RADIUS_M) for i, d in enumerate(densities) for _ in range(d)]
    _, clients = await add_extras(url, args.population, assistants=points, clients=CLIENTS)
    conn = await asyncpg.connect(url)
    times: list[list[float]] = [[] for _ in densities]
    explained: list[list[dict]] = [[] for _ in densities]
    try:
        await conn.execute("SET track_functions = 'all'")
        near = [await near_count(conn, SITES[i]) for i in range(len(densities))]
        sites = [Cycles(conn, clients, SITES[i]) for i in range(len(densities))]
        say(f"settling: {args.settle} unmeasured cycles per site")
        for _ in range(args.settle):
            for c in sites:
                await c.timed()
        # Plans made while the request tables were empty scan them whole until an autoanalyze
        # (autovacuum_naptime, up to a minute) re-plans: that is a fresh database's first minute,
        # not the steady state measured here (cost grew 2 -> 40 ms over 6,000 requests without it).
        await conn.execute("ANALYZE")
        every = max(args.cycles // max(args.explain, 1), 1)
        say(f"{args.cycles} cycles per site, interleaved; EXPLAIN on every {every}th")
        for k in range(args.cycles):
            order = list(range(len(sites)))
            order = order[k % len(order) :] + order[: k % len(order)]  # no site always first
            for i in order:
                times[i].append(await sites[i].timed())
                if k % every == every - 1:
                    explained[i].append(await sites[i].explained())
    finally:
        await conn.close()
    rows = [figures_for(d, near[i], times[i], explained[i]) for i, d in enumerate(densities)]
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
    p.add_argument("--cycles", type=int, default=600, help="measured cycles per density")
    p.add_argument("--settle", type=int, default=100, help="unmeasured cycles per site first")
    p.add_argument("--explain", type=int, default=30, help="EXPLAIN cycles per density (>= 1)")
    p.add_argument("--seed", type=int, default=1)
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    lines = [
        f"| density: {r['assistants_within_5km']} assistants within 5 km | round trip p50 "
        f"{r['round_trip_ms_p50']} ms (blocks {r['round_trip_ms_spread'][0]}-"
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
