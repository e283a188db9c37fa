"""`python -m bench.assignment`: how long one assignment batch takes (issue 26, goal 5: 50 requests x 200
assistants costed, solved and its offers issued within 100 ms), geodesic and in the road city.

Each repetition, in a transaction rolled back afterwards: `--requests` requests wait for a batch
(offer_policy assignment) among `--assistants` idle towing assistants spread over a square of
`--span-km`; one driver pass (dispatch.assistance.assignment.batch_pass) costs them in SQL, solves
with SciPy and issues the offers with the batch's record. Reported: the pass's wall time, the
solve's own share (the batch's solve_ms) and the share of pairs costed by road (the arm's proof).

Then the first offer's delay (goal 5's second half): two batch drivers (AssignmentDriver, as two
server processes run them, each on its own pool, every 250 ms) run for `--arrival-s` seconds while
requests arrive at random (Poisson, `--arrival-rate` a second) in the straight-line city; the
delay is each request's first offer's `created_at` less the request's, from the database, against
`assignment_window_s` (2 s). Result: bench/results/assignment.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import asyncpg

from bench.common import (
    add_extras,
    bench_database,
    reset_extras,
    run,
    say,
    summary_ms,
    write_result,
)
from dispatch.assistance.assignment import AssignmentDriver, batch_pass
from dispatch.core.config import Settings
from dispatch.core.db import init_connection
from dispatch.positions.store import cells

ALGIERS = (36.75, 3.06)
MONACO = (43.7384, 7.4246)


def _points(rng: random.Random, n: int, centre: tuple[float, float], span_km: float):
    half = span_km / 2 / 111.0
    return [
        (centre[0] + rng.uniform(-half, half), centre[1] + rng.uniform(-half, half) * 1.3)
        for _ in range(n)
    ]


async def one_city(
    url: str,
    *,
    requests: int,
    assistants: int,
    repeat: int,
    centre: tuple[float, float],
    span_km: float,
) -> dict[str, Any]:
    rng = random.Random(26)
    a_ids, c_ids = await add_extras(
        url, 0, assistants=_points(rng, assistants, centre, span_km), clients=requests
    )
    pickups = _points(rng, requests, centre, span_km)
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    walls: list[float] = []
    solves: list[float] = []
    offered: list[int] = []
    road: list[float] = []
    try:
        for _ in range(repeat):
            tx = conn.transaction()
            await tx.start()
            try:
                await conn.execute(
                    "UPDATE dispatch.settings SET value = '\"assignment\"' WHERE key = 'offer_policy'"
                )
                for c, (lat, lng) in zip(c_ids, pickups, strict=True):
                    await conn.execute(
                        "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, "
                        "pickup_lng => $3, pickup_cell_r7 => $4)",
                        c,
                        lat,
                        lng,
                        cells(lat, lng).r7,
                    )
                await conn.execute(
                    "UPDATE dispatch.assistance_requests SET queued_at = now() - interval '1 h' "
                    "WHERE assigning"
                )
                started = time.perf_counter()
                out = await batch_pass(conn, max_requests=requests)
                walls.append(time.perf_counter() - started)
                solves.append(
                    await conn.fetchval(
                        "SELECT sum(solve_ms) FROM dispatch.assignment_batches "
                        "WHERE started_at = now()"  # this transaction's batch, not earlier runs'
                    )
                    / 1000
                )
                offered.append(out["offered"])
                # The proof of the arm: the share of costed pairs that were road times.
                road.append(
                    await conn.fetchval(
                        "SELECT avg((p->>3 = 'road')::int)::float8 "
                        "FROM dispatch.assignment_batches b, jsonb_array_elements(b.costs) p "
                        "WHERE b.started_at = now()"
                    )
                    or 0.0
                )
            finally:
                await tx.rollback()
    finally:
        await conn.close()
    return {
        "pass_ms": summary_ms(walls),
        "solve_ms": summary_ms(solves),
        "offered": {"min": min(offered), "max": max(offered)},
        "road_pairs_share": round(sorted(road)[len(road) // 2], 3),
        "requests": requests,
        "assistants": len(a_ids),
        "span_km": span_km,
    }


async def first_offer(url: str, *, rate: float, seconds: float, assistants: int) -> dict[str, Any]:
    """Requests arriving at random while two drivers run: each one's first offer after its
    creation. The assistants never answer (their offers expire after 15 s and they are offered
    the next requests only then), so there are many of them."""
    rng = random.Random(5)
    _, c_ids = await add_extras(
        url,
        0,
        assistants=_points(rng, assistants, ALGIERS, 20.0),
        clients=int(rate * seconds * 2) + 10,
    )
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    pools = [await asyncpg.create_pool(url, min_size=1, max_size=2, init=init_connection)]
    pools.append(await asyncpg.create_pool(url, min_size=1, max_size=2, init=init_connection))
    # The end of each pass that changed something (after its commit): an offer is out then.
    committed: list[float] = []
    drivers = [
        AssignmentDriver(
            p, interval=0.25, max_requests=500, on_change=lambda: committed.append(time.time())
        )
        for p in pools
    ]
    try:
        await conn.execute(
            "UPDATE dispatch.settings SET value = '\"assignment\"' WHERE key = 'offer_policy'"
        )
        first = await conn.fetchval("SELECT coalesce(max(id), 0) FROM dispatch.assistance_requests")
        for d in drivers:
            await d.start()
        end = time.monotonic() + seconds
        clients = iter(c_ids)
        while time.monotonic() < end:
            await asyncio.sleep(rng.expovariate(rate))
            lat, lng = _points(rng, 1, ALGIERS, 20.0)[0]
            await conn.execute(
                "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, "
                "pickup_lng => $3, pickup_cell_r7 => $4)",
                next(clients),
                lat,
                lng,
                cells(lat, lng).r7,
            )
        await asyncio.sleep(3)  # the last window
        rows = await conn.fetch(
            "SELECT extract(epoch FROM r.created_at)::float8 AS created, "
            "extract(epoch FROM min(o.sent_at))::float8 AS sent "
            "FROM dispatch.assistance_requests r JOIN dispatch.offers o ON o.assistance_id = r.id "
            "WHERE r.id > $1 GROUP BY r.id",
            first,
        )
        # sent_at is its pass's transaction start; the offer leaves at that pass's commit.
        delays = [
            min((t for t in committed if t >= r["sent"]), default=r["sent"]) - r["created"]
            for r in rows
        ]
        created = await conn.fetchval(
            "SELECT count(*) FROM dispatch.assistance_requests WHERE id > $1", first
        )
        window = float(
            await conn.fetchval("SELECT dispatch.setting_numeric('assignment_window_s')")
        )
    finally:
        for d in drivers:
            await d.stop()
        for p in pools:
            await p.close()
        await conn.execute(
            "UPDATE dispatch.settings SET value = '\"rounds\"' WHERE key = 'offer_policy'"
        )
        await reset_extras(conn, 0)  # the requests left searching, their assistants
        await conn.close()
    return {
        "first_offer_ms": summary_ms(delays),
        "requests": created,
        "offered": len(delays),
        "window_s": window,
        "rate_per_s": rate,
        "seconds": seconds,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    url = await bench_database(Settings.from_env(), suffix="_assign")
    figures = {}
    for city, centre in (("algiers", ALGIERS), ("monaco", MONACO)):
        if city == "monaco":
            from bench.simulate.roads import ensure_graph

            await ensure_graph(url)  # the Monaco extract (© OpenStreetMap contributors, ODbL)
        span = args.span_km if city == "algiers" else 2.0
        figures[city] = await one_city(
            url,
            requests=args.requests,
            assistants=args.assistants,
            repeat=args.repeat,
            centre=centre,
            span_km=span,
        )
        f = figures[city]
        say(
            f"{city}: {args.requests} requests x {args.assistants} assistants: pass p50/p90 "
            f"{f['pass_ms']['p50_ms']:.1f} / {f['pass_ms']['p90_ms']:.1f} ms (solve p50 "
            f"{f['solve_ms']['p50_ms']:.2f} ms), offered {f['offered']}, road pairs "
            f"{f['road_pairs_share']:.0%}"
        )
    f = figures["first_offer"] = await first_offer(
        url, rate=args.arrival_rate, seconds=args.arrival_s, assistants=args.assistants * 5
    )
    q = f["first_offer_ms"]
    say(
        f"first offer after the request ({f['offered']} of {f['requests']} offered): p50/p90/p99 "
        f"{q['p50_ms']:.0f} / {q['p90_ms']:.0f} / {q['p99_ms']:.0f} ms against a "
        f"{f['window_s'] * 1000:.0f} ms window"
    )
    write_result("assignment", vars(args), figures)
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench.assignment", description=__doc__)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--assistants", type=int, default=200)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--span-km", dest="span_km", type=float, default=20.0)
    p.add_argument("--arrival-rate", dest="arrival_rate", type=float, default=5.0)
    p.add_argument("--arrival-s", dest="arrival_s", type=float, default=30.0)
    return run(main_async(p.parse_args(argv)))  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
