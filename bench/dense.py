"""Bench 6: the dense city centre: 300 connected assistants in a 6 x 6 km square, pickups in its
middle, each cycle a request, its first offer frame and a cancel, at a sweep of offered rates.

It runs bench 2 (`bench.dispatch_load`) with that layout and no location frames at each rate and
reports request -> first offer frame p50/p99, PostgreSQL and server CPU per cycle, and the
saturation rate: the lowest offered rate whose p99 passes 100 ms.
"""

from __future__ import annotations

import argparse
from typing import Any

from bench import dispatch_load
from bench.common import run, say, write_result

SATURATION_P99_MS = 100.0


def preset(rate: float, args: argparse.Namespace) -> list[str]:
    return [
        "--area-km", "6", "--pickup-m", "300", "--sockets", str(args.sockets),
        "--assistants", str(args.assistants), "--clients", str(args.clients),
        "--frames", "0", "--rate", f"{rate:g}", "--seconds", f"{args.seconds:g}",
        "--warmup", "2", "--soak", "1", "--workers", str(args.workers),
        "--socket-procs", "1", "--seed", str(args.seed), "--name", f"dense_{rate:g}",
    ]  # fmt: skip


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


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for rate in args.rates:
        say(f"dense scenario at {rate:g} cycles/s")
        sub = dispatch_load.parser().parse_args(preset(rate, args))
        figures = await dispatch_load.main_async(sub)
        rows.append(row(rate, figures))
        say(
            f"  offer frame p50 {rows[-1]['notify_p50_ms']} ms, p99 {rows[-1]['notify_p99_ms']} "
            f"ms; postgres {rows[-1]['postgres_ms_per_cycle']} ms/cycle"
        )
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
    write_result("dense", vars(args), figures)
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
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    lines = [
        f"  {r['offered_per_s']:g}/s: offer frame p50 {r['notify_p50_ms']} ms, p99 "
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
