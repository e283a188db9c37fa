"""Bench 6: the dense city centre: 300 connected assistants in a 6 x 6 km square, pickups in its
middle, each cycle a request, its first offer frame and a cancel, at a sweep of offered rates.

It runs bench 2 (`bench.dispatch_load`) with that layout and no location frames at each rate and
reports request -> first offer frame p50/p99, PostgreSQL and server CPU per cycle, and the
saturation rate: the lowest offered rate whose p99 passes 100 ms.

With `--roads` (result `dense_roads`) the square stands on the Monaco road graph (© OpenStreetMap
contributors), imported into the bench database, and each rate runs three times in a row: ranked by
road time; with the graph but roads_max_edges 0 (every routing call over budget: the straight line,
after the preselection of 30 and the pickup's snap); and with the graph dropped (no graph covers
the pickup: the plain straight-line path). The graph is dropped at the end.
"""

from __future__ import annotations

import argparse
from typing import Any

import asyncpg

from bench import dispatch_load
from bench.common import bench_database, run, say, write_result
from dispatch.core.config import Settings
from dispatch.core.db import init_connection
from dispatch.roads import extracts, importer

SATURATION_P99_MS = 100.0
MONACO = (43.7441, 7.4171)  # the centroid of the Monaco graph's main edges
# (arm, roads_max_edges: None keeps the configured budget, graph loaded)
ARMS = (("road", None, True), ("over budget", 0, True), ("no graph", None, False))


def preset(rate: float, args: argparse.Namespace) -> list[str]:
    return [
        "--area-km", "6", "--pickup-m", "300", "--sockets", str(args.sockets),
        "--assistants", str(args.assistants), "--clients", str(args.clients),
        "--frames", "0", "--rate", f"{rate:g}", "--seconds", f"{args.seconds:g}",
        "--warmup", "2", "--soak", "1", "--workers", str(args.workers),
        "--socket-procs", "1", "--seed", str(args.seed), "--name", f"dense_{rate:g}",
    ] + (["--centre", str(MONACO[0]), str(MONACO[1])] if args.roads else [])  # fmt: skip


def row(rate: float, figures: dict[str, Any]) -> dict[str, Any]:
    r = figures["run"]
    return {
        "offered_per_s": rate,
        "achieved_per_s": r["achieved_per_s"],
        "notify_p50_ms": r["notify"].get("p50_ms"),
        "notify_p99_ms": r["notify"].get("p99_ms"),
        "http_p50_ms": r["http"].get("p50_ms"),
        "http_p99_ms": r["http"].get("p99_ms"),
        "errors": r["errors"] + sum(figures["transport_errors"].values()),
        "lost": r["notifications_lost"],
        "postgres_ms_per_cycle": figures["cpu"].get("postgres_ms_per_cycle"),
        "server_ms_per_cycle": figures["cpu"].get("server_ms_per_cycle"),
        "postgres_cores": figures["cpu"].get("postgres_cores"),
        "server_cores": figures["cpu"].get("server_cores"),
    }


async def graph(budget: int | None, loaded: bool) -> int:
    """The bench database's Monaco graph loaded (or dropped) and its routing budget set; the
    configured budget."""
    url = await bench_database(Settings.from_env())
    conn = await asyncpg.connect(url)
    try:
        await init_connection(conn)
        configured = int(
            await conn.fetchval(
                "SELECT (value #>> '{}')::bigint FROM dispatch.settings WHERE key = $1",
                "roads_max_edges",
            )
        )
        have = await conn.fetchval("SELECT 1 FROM roads.regions WHERE name = 'monaco'")
        if loaded and not have:
            await importer.import_file(conn, extracts.fetch("monaco"), name="monaco")
            await conn.execute("ANALYZE roads.regions, roads.vertices, roads.edges")
        elif not loaded and have:
            await importer.drop_region(conn, "monaco")
        await conn.execute(
            "UPDATE dispatch.settings SET value = to_jsonb($1::bigint) WHERE key = 'roads_max_edges'",
            configured if budget is None else budget,
        )
        return configured
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    configured = await graph(None, args.roads)
    try:
        for rate in args.rates:
            for arm, budget, loaded in ARMS if args.roads else (("", None, False),):
                if args.roads:
                    await graph(budget, loaded)
                say(f"dense scenario at {rate:g} cycles/s {arm}".rstrip())
                sub = dispatch_load.parser().parse_args(preset(rate, args))
                figures = await dispatch_load.main_async(sub)
                rows.append(row(rate, figures) | ({"arm": arm} if args.roads else {}))
                say(
                    f"  offer frame p50 {rows[-1]['notify_p50_ms']} ms, p99 "
                    f"{rows[-1]['notify_p99_ms']} ms; postgres {rows[-1]['postgres_ms_per_cycle']} "
                    "ms/cycle"
                )
    finally:
        if args.roads:
            await graph(configured, False)
    saturated = [
        r["offered_per_s"]
        for r in rows
        if r["notify_p99_ms"] is None or r["notify_p99_ms"] > SATURATION_P99_MS or r["errors"]
    ]
    figures = {
        "rows": rows,
        "saturation_per_s": min(saturated) if saturated else None,
        "saturation_rule": f"lowest offered rate with p99 > {SATURATION_P99_MS:g} ms or errors",
    }
    write_result("dense_roads" if args.roads else "dense", vars(args), figures)
    return figures


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.dense", description=__doc__)
    p.add_argument("--rates", type=float, nargs="+", default=[100, 200, 300, 400])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--sockets", type=int, default=300)
    p.add_argument("--assistants", type=int, default=10_000, help="positioned city-wide")
    p.add_argument("--clients", type=int, default=600)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument(
        "--roads",
        action="store_true",
        help="on the Monaco graph: each rate by road, over budget and without the graph",
    )
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    lines = [
        f"  {r['offered_per_s']:g}/s {r.get('arm', '')}: offer frame p50 {r['notify_p50_ms']} ms, p99 "
        f"{r['notify_p99_ms']} ms; postgres {r['postgres_ms_per_cycle']} ms/cycle, server "
        f"{r['server_ms_per_cycle']} ms/cycle; errors {r['errors']}, lost {r['lost']}"
        for r in figures["rows"]
    ]
    lines.append(f"  saturation (p99 > 100 ms): {figures['saturation_per_s']}")
    return lines


def main(argv: list[str] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = run(main_async(parser().parse_args(argv)))
    for line in summary_lines(figures):
        say(line)
    return figures


if __name__ == "__main__":
    main()
