"""`python -m bench.simulate`: a simulated city day against the real server, under several policies.

The same city in every profile (60 tow trucks, 450 breakdowns a day around Algiers) at 100x: a
simulated 20 s offer round is 200 ms of real time (the server's shortest round is 100 ms), and a
server round trip of 10 ms is one simulated second.
Profiles: tiny (the test's: 12 simulated minutes), quick (`make simulate`: the evening peak,
16-19 h, about 2.5 minutes), full (`make simulate PROFILE=full`: the whole day, about 15 minutes).
Every policy runs its own server and database; by default at the same time, so they share the
machine's conditions. Results: bench/results/<name>.json and <name>.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bench.common import RESULTS, commit, machine, say, write_result
from bench.simulate import policies, report
from bench.simulate.city import Behaviour
from bench.simulate.run import Config, run_policy

# Above this (p50 server round trip in simulated seconds, a fifth of a 20 s round) the machine,
# not the policy, shapes the figures.
LATENCY_WARN_SIM_S = 4.0

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"assistants": 10, "start_h": 9.0, "hours": 0.2, "compression": 80.0, "drain_s": 240.0},
    "quick": {"start_h": 16.0, "hours": 3.0, "compression": 100.0, "drain_s": 1200.0},
    "full": {"start_h": 0.0, "hours": 24.0, "compression": 100.0},
}  # fmt: skip
# The road city (Monaco's ~300 km of main roads, `--city monaco`): a smaller fleet and day, and a
# lower compression, since a road-ranked round trip costs a routing call (tens of ms) more.
ROAD_PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"assistants": 8, "per_day": 300.0, "start_h": 17.0, "hours": 0.25, "compression": 60.0, "drain_s": 300.0},
    "quick": {"assistants": 30, "per_day": 300.0, "start_h": 16.0, "hours": 2.0, "compression": 60.0, "drain_s": 900.0},
    "full": {"assistants": 30, "per_day": 300.0, "start_h": 0.0, "hours": 24.0, "compression": 60.0},
}  # fmt: skip
RANKINGS = ("road", "straight")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.simulate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    p.add_argument(
        "--policy",
        nargs="+",
        choices=sorted(policies.POLICIES),
        help="dispatch policies to run the same day under (bench/simulate/policies.py; "
        "default: broadcast rounds, the road city: rounds)",
    )
    p.add_argument("--seed", type=int, default=1, help="the day's script and every behaviour draw")
    p.add_argument(
        "--seeds", type=int, nargs="+", help="several days in turn; the report gives medians"
    )
    p.add_argument(
        "--city",
        choices=["algiers", "monaco"],
        default="algiers",
        help="monaco: the road city, `road` and `straight` engine ranking side by side "
        "(bench/simulate/roads.py; © OpenStreetMap contributors)",
    )
    p.add_argument("--compression", type=float, help="simulated seconds per real second")
    p.add_argument("--assistants", type=int)
    p.add_argument("--per-day", dest="per_day", type=float, help="requests over a whole day")
    p.add_argument("--start-hour", dest="start_h", type=float)
    p.add_argument("--hours", type=float, help="simulated window, hours")
    p.add_argument("--drain", dest="drain_s", type=float, help="simulated s after the window")
    p.add_argument("--workers", type=int, default=2, help="server processes per policy")
    p.add_argument(
        "--driver-ms",
        dest="driver_interval_ms",
        type=int,
        default=20,
        help="DISPATCH_OFFER_DRIVER_INTERVAL_MS of the servers",
    )
    p.add_argument(
        "--behaviour",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE",
        help="override how assistants and clients behave (bench/simulate/city.py Behaviour), "
        "e.g. accept_scale_km=20 silence=0.05",
    )
    p.add_argument("--sequential", action="store_true", help="one policy after the other")
    p.add_argument("--name", help="result file name under bench/results/ (simulate[_<city>])")
    p.add_argument("--no-plot", action="store_true")
    return p


def behaviour(overrides: list[str]) -> Behaviour:
    """The default behaviour with FIELD=VALUE overrides (numbers; a field that does not exist or
    a value that is not a number is an error)."""
    fields = {f.name: f for f in dataclasses.fields(Behaviour)}
    values: dict[str, float] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or key not in fields or not isinstance(getattr(Behaviour(), key), float):
            raise SystemExit(f"--behaviour {item!r}: not FIELD=NUMBER of {sorted(fields)}")
        values[key] = float(value)
    return dataclasses.replace(Behaviour(), **values)


def configs(args: argparse.Namespace) -> list[Config]:
    road = args.city != "algiers"
    values = dict((ROAD_PROFILES if road else PROFILES)[args.profile])
    for key in ("compression", "assistants", "per_day", "start_h", "hours", "drain_s"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    base = {"seed": args.seed, "workers": args.workers, "city": args.city, **values}
    if args.behaviour:
        base["behaviour"] = behaviour(args.behaviour)
    if road:
        return [Config(policy=p, ranking=r, **base) for p in args.policy for r in RANKINGS]
    return [Config(policy=p, **base) for p in args.policy]


def run_all(cfgs: list[Config], sequential: bool) -> dict[str, dict[str, Any]]:
    """Every run of one day (in parallel processes unless `sequential`), by name."""
    if sequential or len(cfgs) == 1:
        return {c.name: run_policy(c) for c in cfgs}
    with ProcessPoolExecutor(len(cfgs), mp_context=mp.get_context("spawn")) as pool:
        futures = {c.name: pool.submit(run_policy, c) for c in cfgs}
        return {p: f.result() for p, f in futures.items()}


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Run every policy (in parallel processes unless --sequential), for each seed in turn; the
    report document."""
    args.policy = args.policy or (["rounds"] if args.city != "algiers" else ["broadcast", "rounds"])
    args.name = args.name or ("simulate" if args.city == "algiers" else f"simulate_{args.city}")
    cfgs = configs(args)
    started = time.monotonic()
    seeds = args.seeds or [args.seed]
    per_seed: dict[int, dict[str, dict[str, Any]]] = {}
    for seed in seeds:
        runs = run_all([dataclasses.replace(c, seed=seed) for c in cfgs], args.sequential)
        per_seed[seed] = {n: report.figures(r) for n, r in runs.items()}
        if seed == seeds[0]:
            first_runs = runs
    runs, figs = first_runs, per_seed[seeds[0]]
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / f"{args.name}.png"
    if not args.no_plot:
        report.plot(runs, figs, png)
    params = {
        "profile": args.profile,
        "city": args.city,
        "seeds": seeds,
        "policies": args.policy,
        "concurrent": not args.sequential and len(cfgs) > 1,
        **{k: v for k, v in dataclasses.asdict(cfgs[0]).items() if k != "policy"},
    }

    def public_of(fs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {p: {k: v for k, v in f.items() if not k.startswith("_")} for p, f in fs.items()}

    public = public_of(figs)
    doc: dict[str, Any] = {"policies": public}
    table = markdown(params, public)
    if len(seeds) > 1 or args.city != "algiers":
        doc["seeds"] = {str(s): public_of(f) for s, f in per_seed.items()}
        doc["seeds_table"] = report.seeds_table(per_seed)
        table = table.split("\n\n", 1)[0] + "\n\n" + doc["seeds_table"]
    path = write_result(args.name, params, doc)
    (RESULTS / f"{args.name}.md").write_text(table)
    for line in lines(public):
        say(line)
    if "seeds_table" in doc:
        print(doc["seeds_table"], flush=True)
    say(f"wrote {path}" + ("" if args.no_plot else f" and {png.name}")
        + f" in {time.monotonic() - started:.0f} s")  # fmt: skip
    return {"parameters": params, "policies": public, "runs": runs, "seeds": per_seed}


def lines(figs: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for name, f in figs.items():
        ta, tr = f["time_to_assignment_sim_s"], f["time_to_assignment_real_s"]
        pa, po = f["pickup_km_achieved"], f["pickup_km_optimum"]
        out += [
            f"{name}: {f['assigned']}/{f['created']} assigned, never assigned "
            f"{100 * (f['unassigned_share'] or 0):.1f} %, offers/request "
            f"{f['offers_per_request']['mean']}, outcomes {f['outcomes']}",
            f"  time to assignment p50/p90/p99: {ta['p50']} / {ta['p90']} / {ta['p99']} sim s "
            f"({tr['p50']} / {tr['p90']} / {tr['p99']} real s)",
            f"  pickup km median achieved {pa['p50']} vs optimum {po['p50']} "
            f"(x{f['median_vs_optimum']}), total {f['pickup_total_km']}",
            f"  rounds: gap p50 {f['round_gap_sim_s']['p50']} sim s "
            f"(nominal {f['round_nominal_sim_s']}); counters {f['counters']}",
            *(
                [
                    f"  pickup road s median achieved {f['pickup_s_achieved']['p50']} vs optimum "
                    f"{f['pickup_s_optimum']['p50']} (x{f['pickup_s_median_vs_optimum']}); "
                    f"offers by eta_source {f['offer_eta_sources']}"
                ]
                if "pickup_s_achieved" in f
                else []
            ),
            f"  HTTP round trip p50/p90 {f['http_latency_ms']['p50']} / "
            f"{f['http_latency_ms']['p90']} ms = {f['http_latency_sim_s']['p50']} / "
            f"{f['http_latency_sim_s']['p90']} simulated s",
        ]
        if (f["http_latency_sim_s"]["p50"] or 0) > LATENCY_WARN_SIM_S:
            out.append(
                f"  WARNING: a server round trip is {f['http_latency_sim_s']['p50']} simulated s "
                "(p50): the machine is too slow for this compression, answers miss their rounds; "
                "lower --compression"
            )
    return out


def markdown(params: dict[str, Any], figs: dict[str, dict[str, Any]]) -> str:
    """The policies side by side as a Markdown table (docs/simulation.md renders it from the JSON)."""
    m = machine()
    head = (
        f"Profile `{params['profile']}` ({params['hours']:g} simulated h from "
        f"{params['start_h']:g} h at {params['compression']:g}x, {params['assistants']} assistants, "
        f"{params['per_day']:g} requests/day, seed {params['seed']}), commit `{commit()}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {m['cpu']}, {m['cores']} cores.\n\n"
    )

    def q(s: dict[str, Any], unit: str = "") -> str:
        return f"{s['p50']} / {s['p90']} / {s['p99']}{unit}" if s["n"] else "-"

    rows: list[tuple[str, Any]] = [
        ("requests (created)", lambda f: f["created"]),
        ("never assigned", lambda f: f"{100 * (f['unassigned_share'] or 0):.1f} %"),
        ("time to assignment p50/p90/p99, simulated s", lambda f: q(f["time_to_assignment_sim_s"])),
        ("time to assignment p50/p90/p99, real s", lambda f: q(f["time_to_assignment_real_s"])),
        ("offers per request (mean; p50/p90/p99)",
         lambda f: f"{f['offers_per_request']['mean']}; {q(f['offers_per_request'])}"),
        ("rounds per request (mean)", lambda f: f["rounds_per_request"]["mean"]),
        ("pickup km achieved p50 (mean)",
         lambda f: f"{f['pickup_km_achieved']['p50']} ({f['pickup_km_achieved']['mean']})"),
        ("pickup km offline optimum p50 (mean)",
         lambda f: f"{f['pickup_km_optimum']['p50']} ({f['pickup_km_optimum']['mean']})"),
        ("median achieved / optimum (goal ≤ 1.10)", lambda f: f["median_vs_optimum"]),
        ("could be served (optimum over every request)",
         lambda f: f"{f['optimum_could_serve']['served']} of {f['created']}"),
        ("round length p50, simulated s (nominal)",
         lambda f: f"{f['round_gap_sim_s']['p50']} ({f['round_nominal_sim_s']})"),
        ("HTTP round trip p50 / p90, ms (simulated s)",
         lambda f: f"{f['http_latency_ms']['p50']} / {f['http_latency_ms']['p90']} "
         f"({f['http_latency_sim_s']['p50']} / {f['http_latency_sim_s']['p90']})"),
    ]  # fmt: skip
    names = list(figs)
    out = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    out += [
        f"| {label} | " + " | ".join(str(fn(figs[n])) for n in names) + " |" for label, fn in rows
    ]
    return head + "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return simulate(parser().parse_args(argv))


if __name__ == "__main__":
    main()
    sys.exit(0)
