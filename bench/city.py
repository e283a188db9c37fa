"""`python -m bench.city`: the realistic city, the headline of `make bench` (issue 29), measured
against the platform's own floor in the same sitting.

The city is bench 2's: 100k positioned assistants, 1,000 connected ones around 25 hotspots sending
`--frames` location frames a second, clients asking at a fixed `--rate` (open loop) and cancelling
once answered; every feature on (the offer policy in the database's settings, the dispatchers'
feed, the audit rows; a road graph if one is loaded where the city is). Each of `--runs` rounds
runs, in this order:

1. **the floor** (bench 7): a minimal aiohttp/asyncpg app's two committing requests and 22 frames,
   server and PostgreSQL CPU of that cycle;
2. **the city** at `--rate` requests/s with the frames: request → first offer p50/p99, errors and
   lost offers, CPU (server processes + the whole PostgreSQL cluster, from /proc) per request;
3. **the city without the frames** at the same rate: CPU per cycle (request, offers, cancel,
   withdrawals, frames) against the floor's cycle; and, from the difference with run 2, what one
   location frame costs the servers and PostgreSQL;
4. **the city at rest** (1 request a second, no frames): the cores its periodic work takes (the
   drivers, the dispatchers' fleet feed, the publisher), so that what a cycle *adds* can be set
   against the floor's cycle, which is a marginal cost too.

Then one run per rate of `--sweep` with the frames: the saturation rate (the lowest with p99 over
100 ms or any error). Reported: each figure's median over the rounds with its range
(bench/results/city.json; the manual's performance page shows it first).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from bench import dispatch_load, floor
from bench.common import run, say, write_result

SATURATION_P99_MS = 100.0
TARGETS = {
    "offer_p50_ms": 5.0,
    "offer_p99_ms": 25.0,
    "saturation_per_s": 250.0,
    "cycle_over_floor": 3.0,
    "frame_server_us": 50.0,
    "frame_postgres_us": 50.0,
}


def _city(rate: float, frames: float, seconds: float, seed: int) -> list[str]:
    return [
        "--rate", f"{rate:g}", "--frames", f"{frames:g}", "--seconds", f"{seconds:g}",
        "--warmup", "3", "--soak", "1", "--seed", str(seed), "--name", "city",
    ]  # fmt: skip


async def city_run(rate: float, frames: float, seconds: float, seed: int) -> dict[str, Any]:
    """One run of bench 2's city: latency, errors, and CPU per created request."""
    figures = await dispatch_load.main_async(
        dispatch_load.parser().parse_args(_city(rate, frames, seconds, seed))
    )
    r, cpu = figures["run"], figures["cpu"]
    return {
        "rate": rate,
        "frames_per_s": figures["frames_per_s"],
        "achieved_per_s": r["achieved_per_s"],
        "created": r["created_201"],
        "offer_p50_ms": r["notify"].get("p50_ms"),
        "offer_p99_ms": r["notify"].get("p99_ms"),
        "errors": r["errors"] + sum(figures["transport_errors"].values()),
        "lost": r["notifications_lost"],
        "seconds": cpu.get("seconds"),
        "server_ms_per_request": cpu.get("server_ms_per_cycle"),
        "postgres_ms_per_request": cpu.get("postgres_ms_per_cycle"),
        "server_cores": cpu.get("server_cores"),
        "postgres_cores": cpu.get("postgres_cores"),
    }


def frame_cost(with_frames: dict[str, Any], without: dict[str, Any]) -> dict[str, float | None]:
    """µs of server and PostgreSQL CPU per location frame: the cores the frames added over the
    same request rate, divided by the frames sent a second."""
    fps = with_frames["frames_per_s"]
    out: dict[str, float | None] = {}
    for side in ("server", "postgres"):
        a, b = with_frames[f"{side}_cores"], without[f"{side}_cores"]
        out[f"{side}_us"] = round((a - b) * 1e6 / fps, 1) if fps and None not in (a, b) else None
    return out


def spread(values: list[float | None]) -> dict[str, Any]:
    """The median of the rounds and their range (None when a round had no figure)."""
    xs = [v for v in values if v is not None]
    if not xs:
        return {"median": None, "range": None, "runs": values}
    return {"median": round(statistics.median(xs), 3), "range": [min(xs), max(xs)], "runs": values}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    for k in range(args.runs):
        say(f"round {k + 1}/{args.runs}: the floor (bench 7)")
        fl = await floor.main_async(
            floor.parser().parse_args(["--requests", str(args.floor_requests), "--runs", "1"])
        )
        cyc = fl["cycle_floor"]
        say(f"round {k + 1}/{args.runs}: the city at {args.rate:g}/s + {args.frames:g} frames/s")
        mixed = await city_run(args.rate, args.frames, args.seconds, args.seed + k)
        say(f"round {k + 1}/{args.runs}: the city at {args.rate:g}/s without frames")
        bare = await city_run(args.rate, 0, args.seconds, args.seed + k)
        say(f"round {k + 1}/{args.runs}: the city at rest (1 request/s, no frames)")
        rest = await city_run(1, 0, args.seconds, args.seed + k)
        floor_ms = (cyc["server_us"] + cyc["postgres_us"]) / 1000
        cycle_ms = bare["server_ms_per_request"] + bare["postgres_ms_per_request"]
        # What the cycles add over the city at rest (its drivers, feed, publisher, autovacuum): the
        # floor is a marginal cost too.
        busy = bare["server_cores"] + bare["postgres_cores"]
        idle = rest["server_cores"] + rest["postgres_cores"]
        net_ms = (busy - idle) * 1000 / bare["achieved_per_s"]
        rounds.append(
            {
                "floor": cyc,
                "mixed": mixed,
                "bare": bare,
                "rest": rest,
                "frame": frame_cost(mixed, bare),
                "cycle_ms": round(cycle_ms, 3),
                "cycle_net_ms": round(net_ms, 3),
                "rest_cores": round(idle, 3),
                "floor_ms": round(floor_ms, 3),
                "cycle_over_floor": round(cycle_ms / floor_ms, 2),
                "net_over_floor": round(net_ms / floor_ms, 2),
            }
        )
        say(
            f"  offer p50 {mixed['offer_p50_ms']} / p99 {mixed['offer_p99_ms']} ms, errors "
            f"{mixed['errors']} + lost {mixed['lost']}; a cycle {cycle_ms:.2f} ms CPU = "
            f"{rounds[-1]['cycle_over_floor']}x the floor's {floor_ms:.2f} ({net_ms:.2f} ms = "
            f"{rounds[-1]['net_over_floor']}x over the city at rest, {idle:.2f} cores); a frame "
            f"{rounds[-1]['frame']}"
        )
    sweep = []
    for rate in args.sweep:
        say(f"saturation sweep: {rate:g}/s + {args.frames:g} frames/s")
        sweep.append(await city_run(rate, args.frames, args.seconds, args.seed))
        say(f"  offer p50 {sweep[-1]['offer_p50_ms']} / p99 {sweep[-1]['offer_p99_ms']} ms")
    saturated = [
        r["rate"]
        for r in sweep
        if r["offer_p99_ms"] is None or r["offer_p99_ms"] > SATURATION_P99_MS or r["errors"]
    ]
    figures = {
        "rate": args.rate,
        "frames": args.frames,
        "offer_p50_ms": spread([r["mixed"]["offer_p50_ms"] for r in rounds]),
        "offer_p99_ms": spread([r["mixed"]["offer_p99_ms"] for r in rounds]),
        "errors": sum(r["mixed"]["errors"] for r in rounds),
        "lost": sum(r["mixed"]["lost"] for r in rounds),
        "cycle_ms": spread([r["cycle_ms"] for r in rounds]),
        "floor_ms": spread([r["floor_ms"] for r in rounds]),
        "cycle_over_floor": spread([r["cycle_over_floor"] for r in rounds]),
        "cycle_net_ms": spread([r["cycle_net_ms"] for r in rounds]),
        "net_over_floor": spread([r["net_over_floor"] for r in rounds]),
        "rest_cores": spread([r["rest_cores"] for r in rounds]),
        "frame_server_us": spread([r["frame"]["server_us"] for r in rounds]),
        "frame_postgres_us": spread([r["frame"]["postgres_us"] for r in rounds]),
        "sweep": sweep,
        "saturation_per_s": min(saturated) if saturated else None,
        "sweep_top_per_s": max(args.sweep) if args.sweep else None,
        "saturation_rule": f"lowest swept rate with p99 > {SATURATION_P99_MS:g} ms or errors",
        "rounds": rounds,
        "targets": TARGETS,
    }
    write_result("city", vars(args), figures)
    return figures


def rows(f: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, figure, target and verdict) rows of the headline table."""

    def m(key: str, unit: str = "") -> str:
        s = f[key]
        if s["median"] is None:
            return "n/a"
        lo, hi = s["range"]
        return f"{s['median']:g}{unit} ({lo:g}-{hi:g})"

    def ok(key: str, target: float) -> str:
        v = f[key]["median"]
        return "n/a" if v is None else ("met" if v <= target else "MISSED")

    sat, top = f["saturation_per_s"], f["sweep_top_per_s"]
    sat_ok = (sat is None and (top or 0) >= TARGETS["saturation_per_s"]) or (
        sat is not None and sat > TARGETS["saturation_per_s"]
    )
    n = len(f["rounds"])
    city = f"{f['rate']:g} req/s + {f['frames']:g} location frames/s"
    return [
        (
            f"City, {city}: request → first offer p50 ms, median of {n} runs (range)",
            m("offer_p50_ms"),
            f"≤ {TARGETS['offer_p50_ms']:g}: {ok('offer_p50_ms', TARGETS['offer_p50_ms'])}",
        ),
        (
            f"City, {city}: request → first offer p99 ms",
            m("offer_p99_ms"),
            f"≤ {TARGETS['offer_p99_ms']:g}: {ok('offer_p99_ms', TARGETS['offer_p99_ms'])}",
        ),
        (
            f"City, {city}: errors + lost offers over the {n} runs",
            f"{f['errors']} + {f['lost']}",
            "none: " + ("met" if f["errors"] + f["lost"] == 0 else "MISSED"),
        ),
        (
            "City saturation with the frames (lowest swept rate with p99 > 100 ms or errors)",
            f"{sat:g}/s" if sat else (f"not reached up to {top:g}/s" if top else "not swept"),
            f"≥ {TARGETS['saturation_per_s']:g}/s: " + ("met" if sat_ok else "MISSED"),
        ),
        (
            f"City without frames, {f['rate']:g} req/s: CPU (servers + PostgreSQL) per cycle, ms; "
            "the floor's cycle in the same sitting",
            f"{m('cycle_ms')}; floor {m('floor_ms')}",
            "",
        ),
        (
            "City: a cycle's CPU over the floor's cycle (same sitting), all of it",
            m("cycle_over_floor", "x"),
            f"≤ {TARGETS['cycle_over_floor']:g}x: "
            + ok("cycle_over_floor", TARGETS["cycle_over_floor"]),
        ),
        (
            "City: what a cycle adds over the city at rest (1 req/s: its drivers, feed, publisher), "
            "ms; over the floor's cycle; the city at rest, cores",
            f"{m('cycle_net_ms')}; {m('net_over_floor', 'x')}; {m('rest_cores')}",
            f"≤ {TARGETS['cycle_over_floor']:g}x: "
            + ok("net_over_floor", TARGETS["cycle_over_floor"])
            if "net_over_floor" in f
            else "",
        ),
        (
            "City: a location frame's CPU, server / PostgreSQL µs (frames' added cores / frames/s)",
            f"{m('frame_server_us')} / {m('frame_postgres_us')}",
            f"≤ 50 / ≤ 50: {ok('frame_server_us', 50)} / {ok('frame_postgres_us', 50)}",
        ),
    ]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__)
    p.add_argument("--rate", type=float, default=100, help="requests a second")
    p.add_argument("--frames", type=float, default=2000, help="location frames a second")
    p.add_argument("--seconds", type=float, default=10, help="measured seconds of each run")
    p.add_argument("--runs", type=int, default=3, help="rounds (floor, city, city without frames)")
    p.add_argument("--sweep", type=float, nargs="*", default=[150, 200, 250, 300])
    p.add_argument("--floor-requests", dest="floor_requests", type=int, default=1500)
    p.add_argument("--seed", type=int, default=5)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    figures = run(main_async(parser().parse_args(argv)))
    width = max(len(a) for a, _, _ in rows(figures))
    for a, b, c in rows(figures):
        say(f"{a:<{width}}  {b}  {c}")
    return figures  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
