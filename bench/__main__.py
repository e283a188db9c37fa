"""`python -m bench --profile quick|full`: every benchmark in turn, then a summary table.

The headline comes first: the realistic city against the platform's floor in the same sitting
(`bench.city`: three rounds of the floor, the city at 100 req/s + 2,000 location frames/s and the
same without frames, then a saturation sweep); the other benchmarks follow.
quick (`make bench`, about 15 minutes): the city with 8 s runs; matching at 10k and 100k assistants, dispatch 200 req/s for
10 s (+10 s soak for memory drift), ingest 10,000 frames/s for 8 s, request cost at three densities,
the dense centre at 200 and 400 cycles/s, the platform's floor (bench 7), road ranking's database
time on Monaco and on 40 tiled copies of it (bench 9).
full (`make bench PROFILE=full`): the city with 20 s runs and a wider sweep; matching up to 1M assistants, dispatch for 30 s (+30 s soak),
ingest for 20 s, the dense centre swept from 100 to 500 cycles/s, road ranking with 500 and 2,000
assistants on Monaco and on 120 tiled copies (324,600 edges).
`python -m bench.dense --roads` (the dense centre on the Monaco graph) runs only on its own.
Results: bench/results/*.json, *.png and summary.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench import city, dense, density, dispatch_load, floor, ingest, matching, roads
from bench.common import RESULTS, commit, machine, say

PROFILES: dict[str, dict[str, list[str]]] = {
    "quick": {
        "city": ["--seconds", "8", "--sweep", "200", "250", "300"],
        "matching": ["--n", "10000", "100000", "--queries", "200", "--python-queries", "10"],
        "dispatch": ["--seconds", "10", "--warmup", "2", "--soak", "2"],
        "ingest": ["--seconds", "8", "--rest-seconds", "4"],
        "density": ["--cycles", "200", "--explain", "10"],
        "dense": ["--rates", "200", "400", "--seconds", "8"],
        "floor": ["--requests", "2000"],
        "roads": ["--assistants", "500", "--pickups", "60", "--parts", "10", "--copies", "40"],
    },
    "full": {
        "city": ["--seconds", "20", "--sweep", "150", "200", "250", "300", "350"],
        "matching": ["--n", "10000", "100000", "1000000", "--queries", "500"],
        "dispatch": ["--seconds", "30", "--warmup", "3", "--soak", "2"],
        "ingest": ["--seconds", "20", "--rest-seconds", "10"],
        "density": ["--cycles", "900", "--explain", "45"],
        "dense": ["--rates", "100", "200", "300", "400", "500", "--seconds", "15"],
        "floor": ["--requests", "5000"],
        "roads": ["--assistants", "500", "2000", "--pickups", "200", "--copies", "120"],
    },
}

TARGETS = {
    "matching_db_p50_1m_ms": 0.5,
    "matching_speedup_100k": 20.0,
    "notify_p50_ms": 5.0,
    "notify_p99_ms": 25.0,
    "ingest_per_s": 10_000,
    "ingest_staleness_p99_ms": 250.0,
    "server_rss_mb": 200.0,
    "density_flat_ratio": 1.2,
    "dense_p50_ms": 3.0,
    "dense_p99_ms": 20.0,
    "dense_saturation_per_s": 400.0,
    "dense_pg_ms_per_cycle": 1.5,
    "roads_added_p50_ms": 3.0,  # on the Monaco graph
    "roads_added_p50_large_ms": 6.0,  # on a graph of >= 300,000 edges
}
LARGE_GRAPH_EDGES = 300_000


def density_rows(dn: dict[str, Any], dd: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for the per-request cost against density and the dense-centre sweep."""
    ratio = dn["max_over_min"]
    flat = [ratio["round_trip_ms_p50"], ratio["shared_buffers_p50"]]
    rows = [
        (
            "Request cost at 30 / 300 / 3,000 assistants within 5 km (interleaved cycles): "
            "round-trip p50 ms; shared buffers; st_dwithin per request",
            " / ".join(f"{r['round_trip_ms_p50']}" for r in dn["rows"])
            + "; "
            + " / ".join(f"{r['shared_buffers_p50']}" for r in dn["rows"])
            + "; "
            + " / ".join(f"{r['st_dwithin_per_request']}" for r in dn["rows"]),
            "flat within 20 %: "
            + verdict(None if None in flat else max(flat) <= TARGETS["density_flat_ratio"])
            + f" (max/min round trip {flat[0]}, buffers {flat[1]})",
        )
    ]
    for r in dd["rows"]:
        target = ""
        if r["offered_per_s"] == 200:
            target = "p50 ≤ 3, p99 ≤ 20, postgres ≤ 1.5 ms/cycle: " + verdict(
                r["notify_p50_ms"] is not None
                and r["notify_p50_ms"] <= TARGETS["dense_p50_ms"]
                and r["notify_p99_ms"] <= TARGETS["dense_p99_ms"]
                and (r["postgres_ms_per_cycle"] or 0) <= TARGETS["dense_pg_ms_per_cycle"]
            )
        rows.append(
            (
                f"Dense centre {r['offered_per_s']:g} cycles/s: offer frame p50 / p99 ms; "
                "postgres / server CPU ms per cycle; errors + lost",
                f"{r['notify_p50_ms']} / {r['notify_p99_ms']}; {r['postgres_ms_per_cycle']} / "
                f"{r['server_ms_per_cycle']}; {r['errors']} + {r['lost']}",
                target,
            )
        )
    sat = dd["saturation_per_s"]
    top = max(r["offered_per_s"] for r in dd["rows"])
    rows.append(
        (
            "Dense centre saturation (lowest swept rate with p99 > 100 ms)",
            f"{sat:g}/s" if sat else f"not reached up to {top:g}/s",
            "≥ 400/s: "
            + verdict(
                (sat is None and top >= TARGETS["dense_saturation_per_s"])
                or (sat is not None and sat > TARGETS["dense_saturation_per_s"])
            ),
        )
    )
    return rows


def floor_rows(fl: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The platform's floor: the parts of a cycle with no dispatch logic (bench 7)."""
    ops, cycle = fl["ops"], fl["cycle_floor"]
    return [
        (
            "Platform floor, server CPU us per request: bare HTTP / + JWT check / + one "
            "PostgreSQL read / + one durable INSERT; per WebSocket frame",
            " / ".join(
                f"{ops[k]['server_us']}"
                for k in ("http", "http_jwt", "http_db_read", "http_db_commit")
            )
            + f"; {ops['ws_frame']['server_us']}",
            "",
        ),
        (
            f"Platform floor of a dense cycle (2 committing requests + {cycle['frames']} frames): "
            "server / postgres CPU us",
            f"{cycle['server_us']} / {cycle['postgres_us']}",
            "",
        ),
    ]


def roads_rows(rd: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Road ranking's database time (bench 9): by road against the straight line, and its parts."""
    rows = []
    for r in rd["rows"]:
        road, line, lo_hi = r["road"], r["straight_line"], r["spread"]["added_p50_ms"]
        target = ""
        if r["edges"] >= LARGE_GRAPH_EDGES:
            target = f"added ≤ {TARGETS['roads_added_p50_large_ms']:g} ms: " + verdict(
                r["added_p50_ms"] <= TARGETS["roads_added_p50_large_ms"]
            )
        elif r["copies"] == 1:
            target = f"added ≤ {TARGETS['roads_added_p50_ms']:g} ms: " + verdict(
                r["added_p50_ms"] <= TARGETS["roads_added_p50_ms"]
            )
        rows.append(
            (
                f"Road ranking, {r['edges']:,} edges, {r['assistants']:,} assistants: "
                "candidates_json in-database p50 / p90 ms by road; straight line (over budget); "
                f"added p50 (range over {r['rounds']} rounds)",
                f"{road['p50_ms']} / {road['p90_ms']}; {line['p50_ms']} / {line['p90_ms']}; "
                f"+{r['added_p50_ms']} ({lo_hi[0]}-{lo_hi[1]})",
                target,
            )
        )
        parts = r["parts_p50_ms"]
        rows.append(
            (
                f"Road ranking, {r['edges']:,} edges, {r['assistants']:,} assistants: parts p50 ms, "
                "snap 30 origins / snap pickup / box estimate / pgRouting search / roads.times_to",
                " / ".join(
                    str(parts.get(k, "n/a"))
                    for k in ("snap_origins", "snap_pickup", "box", "dijkstra", "times_to")
                ),
                "",
            )
        )
    return rows


def dense_roads_rows(dr: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Bench 6 on the Monaco graph: by road, over budget and without the graph, rate by rate."""
    return [
        (
            f"Dense centre on Monaco {r['offered_per_s']:g} cycles/s, {r['arm']}: offer frame "
            "p50 / p99 ms; postgres / server CPU ms per cycle; errors + lost",
            f"{r['notify_p50_ms']} / {r['notify_p99_ms']}; {r['postgres_ms_per_cycle']} / "
            f"{r['server_ms_per_cycle']}; {r['errors']} + {r['lost']}",
            "",
        )
        for r in dr["rows"]
    ]


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def table(m: dict[str, Any], d: dict[str, Any], i: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, figure, target and verdict) rows."""
    rows: list[tuple[str, str, str]] = []
    by_n = {r["n"]: r for r in m["results"]}
    for n, r in by_n.items():
        rows.append(
            (
                f"Matching N={n:,}: sql_knn / sql_h3_ring / python_haversine p50 (p99), ms",
                " / ".join(
                    f"{r[s]['p50_ms']:.2f} ({r[s]['p99_ms']:.2f})" for s in matching.STRATEGIES
                ),
                "",
            )
        )
        rows.append(
            (
                f"Matching N={n:,}: queries/s sql_knn / sql_h3_ring / python_haversine",
                " / ".join(f"{r[s]['qps']:.0f}" for s in matching.STRATEGIES),
                "",
            )
        )
        db = r["sql_knn_db"]
        target = ""
        if n == 1_000_000:
            target = f"≤ {TARGETS['matching_db_p50_1m_ms']} ms: " + verdict(
                db["p50_ms"] <= TARGETS["matching_db_p50_1m_ms"]
            )
        rows.append(
            (
                f"Matching N={n:,}: sql_knn in-database p50 (p99), ms",
                f"{db['p50_ms']:.3f} ({db['p99_ms']:.3f}) + planning {db['planning_p50_ms']:.3f}",
                target,
            )
        )
    if 1_000_000 not in by_n:
        rows.append(("Matching N=1M in-database p50", "not run in this profile", "≤ 0.5 ms: n/a"))
    if 100_000 in by_n:
        r = by_n[100_000]
        speedup = r["python_haversine"]["p50_ms"] / r["sql_knn"]["p50_ms"]
        rows.append(
            (
                "Matching N=100k: sql_knn speed-up over python_haversine (p50)",
                f"{speedup:.1f}x",
                f"≥ 20x: {verdict(speedup >= TARGETS['matching_speedup_100k'])}",
            )
        )
    run, mem = d["run"], d["memory"]
    h, nt = run["http"], run["notify"]
    rows.append(
        (
            f"Dispatch {d['offered_rate']:g} req/s offered: HTTP p50/p90/p99/max, ms",
            f"{h.get('p50_ms')} / {h.get('p90_ms')} / {h.get('p99_ms')} / {h.get('max_ms')}",
            "",
        )
    )
    errors = run["errors"] + sum(d["transport_errors"].values()) + run["notifications_lost"]
    rows.append(
        (
            "Dispatch: request → notification p50/p90/p99/max, ms",
            f"{nt.get('p50_ms')} / {nt.get('p90_ms')} / {nt.get('p99_ms')} / {nt.get('max_ms')}",
            "p50 ≤ 5, p99 ≤ 25: "
            + verdict(
                nt.get("n", 0) > 0
                and nt["p50_ms"] <= TARGETS["notify_p50_ms"]
                and nt["p99_ms"] <= TARGETS["notify_p99_ms"]
            ),
        )
    )
    rows.append(
        (
            "Dispatch: achieved req/s; errors (HTTP + transport + lost notifications)",
            f"{run['achieved_per_s']}/s; {run['errors']} + {sum(d['transport_errors'].values())}"
            f" + {run['notifications_lost']}",
            f"zero errors: {verdict(errors == 0)}",
        )
    )
    rows.append(
        (
            "Dispatch: location frames/s sent by the 1,000 sockets; generator lag p99",
            f"{d['frames_per_s']}/s; {d['generator_lag_ms']['p99']} ms",
            "",
        )
    )
    ws = i["websocket"]
    rows.append(
        (
            "Ingest over WebSocket: offered / sent per s; every frame sent = stored + coalesced "
            "(newest of a user's batch wins) + dropped + unexplained",
            f"{ws['offered_per_s']} / {ws['sent_per_s']}; {ws['stored']} + {ws['coalesced']} + "
            f"{ws['dropped']} + {ws['unexplained']}",
            f"10,000/s offered, none dropped or unexplained: "
            f"{verdict(ws['offered_per_s'] >= TARGETS['ingest_per_s'] and ws['dropped'] == 0 and ws['unexplained'] == 0)}",
        )
    )
    st = ws["staleness"]
    rows.append(
        (
            "Ingest: staleness p50 / p99, ms",
            f"{st['p50_ms']} / {st['p99_ms']}",
            f"p99 ≤ 250 ms: {verdict(st['n'] > 0 and st['p99_ms'] <= TARGETS['ingest_staleness_p99_ms'])}",
        )
    )
    if "requests" in ws:
        q = ws["requests"]
        rows.append(
            (
                f"Ingest: meanwhile {q['offered_per_s']:g} assistance requests/s, HTTP p50 / p99 ms; "
                "errors",
                f"{q['latency']['p50_ms']} / {q['latency']['p99_ms']}; {q['errors']}",
                "p99 ≤ 50 ms: "
                + verdict(
                    q["latency"]["n"] > 0 and q["latency"]["p99_ms"] <= 50 and not q["errors"]
                ),
            )
        )
    rest = i["rest"]
    rows.append(
        (
            f"Ingest over REST ({rest['concurrency']} clients, closed loop): per s; p50 / p99 ms",
            f"{rest['per_s']}/s; {rest['latency']['p50_ms']} / {rest['latency']['p99_ms']}"
            f" (errors {rest['errors']})",
            "",
        )
    )
    tele, hist = i["telematics"], i["history"]
    rows.append(
        (
            f"Telematics ({tele['clients']} clients, {tele['batch_points']}-point batches): "
            "history rows/s; batch p50 / p99 ms",
            f"{tele['history_rows_per_s']}/s; {tele['latency']['p50_ms']} / "
            f"{tele['latency']['p99_ms']} (errors {tele['errors']})",
            "",
        )
    )
    rows.append(
        (
            "Position history with retention 1 day, maintenance on each next day: size, MiB",
            " → ".join(f"{d['bytes'] / 2**20:.1f}" for d in hist["by_day"])
            + f" ({hist['rows_before']} → {hist['rows_after']} rows)",
            "bounded: whole partitions dropped",
        )
    )
    peaks = [p["peak_mb"] or 0 for p in mem["server_processes"].values()]
    rows.append(
        (
            "Memory: peak RSS per server process under the run-2 load, MiB",
            " / ".join(f"{p:.1f}" for p in peaks),
            f"≤ 200 MiB: {verdict(max(peaks) <= TARGETS['server_rss_mb'])}",
        )
    )
    rows.append(
        (
            "Memory: server per connected socket (idle, 0 → 1,000 sockets)",
            f"{mem['per_socket_kib']} KiB",
            "",
        )
    )
    ends = [
        f"{p['at_end_of_T_mb']:.1f} → {p['at_end_of_2T_mb']:.1f} ({p['slope_mb_per_min']:+.2f} MiB/min)"
        for p in mem["server_processes"].values()
        if p["at_end_of_2T_mb"] is not None
    ]
    rows.append(
        (
            "Memory: RSS at end of T → end of 2T per process (slope)",
            "; ".join(ends) or "no soak",
            "flat: see slope",
        )
    )
    rows.append(
        (
            "Memory: PostgreSQL backends of the bench DB, peak PSS (RSS)",
            f"{mem['postgres_peak_pss_mb']} MiB ({mem['postgres_peak_rss_mb']} MiB RSS, "
            f"{mem['postgres_backends_max']} backends)",
            "",
        )
    )
    return rows


def markdown(profile: str, rows: list[tuple[str, str, str]]) -> str:
    m = machine()
    lines = [
        f"Profile `{profile}`, commit `{commit()}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"kernel {m['kernel']}; load generator on the same machine.",
        "",
        "| Measure | Figure | Target |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    args = parser.parse_args(argv)
    started = time.monotonic()
    p = PROFILES[args.profile]
    say(f"profile {args.profile}: 0/7 the realistic city against the floor ({' '.join(p['city'])})")
    c = city.main(p["city"])
    say(f"1/7 matching at scale ({' '.join(p['matching'])})")
    m = matching.main(p["matching"])
    say(f"2/7 dispatch under load + memory ({' '.join(p['dispatch'])})")
    d = dispatch_load.main(p["dispatch"])
    say(f"3/7 location ingest ({' '.join(p['ingest'])})")
    i = ingest.main(p["ingest"])
    say(f"4/7 request cost against density ({' '.join(p['density'])})")
    dn = density.main(p["density"])
    say(f"5/7 the dense centre ({' '.join(p['dense'])})")
    dd = dense.main(p["dense"])
    say(f"6/7 the platform's floor ({' '.join(p['floor'])})")
    fl = floor.main(p["floor"])
    say(f"7/7 road ranking's database time ({' '.join(p['roads'])})")
    rd = roads.main(p["roads"])
    rows = city.rows(c) + table(m, d, i) + density_rows(dn, dd) + floor_rows(fl) + roads_rows(rd)
    md = markdown(args.profile, rows)
    (RESULTS / "summary.md").write_text(md)
    (RESULTS / "summary.json").write_text(json.dumps({"profile": args.profile, "rows": rows}))
    width = max(len(a) for a, _, _ in rows)
    print()
    for a, b, c in rows:
        print(f"{a:<{width}}  {b}  {c}")
    say(f"done in {time.monotonic() - started:.0f} s; table in {RESULTS / 'summary.md'}")


if __name__ == "__main__":
    sys.exit(main())
