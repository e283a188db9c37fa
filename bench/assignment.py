"""`python -m bench.assignment`: how long one assignment batch takes (issue 26, goal 5: 50 requests x 200
assistants costed, solved and its offers issued within 100 ms), geodesic and in the road city.

Each repetition, in a transaction rolled back afterwards: `--requests` requests wait for a batch
(offer_policy assignment) among `--assistants` idle towing assistants spread over a square of
`--span-km`; one driver pass (dispatch.assistance.assignment.batch_pass) costs them in SQL, solves
with SciPy and issues the offers with the batch's record. Reported: the pass's wall time and the
solve's own share (the batch's solve_ms). Result: bench/results/assignment.json.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import asyncpg

from bench.common import add_extras, bench_database, run, say, summary_ms, write_result
from dispatch.assistance.assignment import batch_pass
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
                    await conn.fetchval("SELECT sum(solve_ms) FROM dispatch.assignment_batches")
                    / 1000
                )
                offered.append(out["offered"])
            finally:
                await tx.rollback()
    finally:
        await conn.close()
    return {
        "pass_ms": summary_ms(walls),
        "solve_ms": summary_ms(solves),
        "offered": {"min": min(offered), "max": max(offered)},
        "requests": requests,
        "assistants": len(a_ids),
        "span_km": span_km,
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
            f"{f['solve_ms']['p50_ms']:.2f} ms), offered {f['offered']}"
        )
    write_result("assignment", vars(args), figures)
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench.assignment", description=__doc__)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--assistants", type=int, default=200)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--span-km", dest="span_km", type=float, default=20.0)
    return run(main_async(p.parse_args(argv)))  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
