"""`python -m bench.simulate`: a simulated city day against the real server, under several policies.

Profiles: tiny (the test's: 15 simulated minutes, 6 assistants), quick (`make simulate`: 24 h in
~100 s, 40 assistants, 260 requests), full (`make simulate PROFILE=full`: 24 h in 6 minutes,
120 assistants, 800 requests). Every policy runs its own server and database; by default they run
at the same time, so they share the machine's conditions. Results: bench/results/simulate.json,
simulate.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bench.common import RESULTS, say, write_result
from bench.simulate import policies, report
from bench.simulate.run import Config, run_policy

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"assistants": 6, "requests": 8, "start_h": 8.0, "hours": 0.25, "compression": 60.0,
             "drain_s": 300.0},
    "quick": {"assistants": 40, "requests": 260, "start_h": 0.0, "hours": 24.0,
              "compression": 900.0, "drain_s": 1800.0},
    "full": {"assistants": 120, "requests": 800, "start_h": 0.0, "hours": 24.0,
             "compression": 240.0, "drain_s": 1800.0},
}  # fmt: skip


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
        default=["broadcast", "rounds"],
        help="dispatch policies to run the same day under (bench/simulate/policies.py)",
    )
    p.add_argument("--seed", type=int, default=1, help="the day's script and every behaviour draw")
    p.add_argument("--compression", type=float, help="simulated seconds per real second")
    p.add_argument("--assistants", type=int)
    p.add_argument("--requests", type=int, help="requests over the simulated window")
    p.add_argument("--start-hour", dest="start_h", type=float)
    p.add_argument("--hours", type=float, help="simulated window, hours")
    p.add_argument("--drain", dest="drain_s", type=float, help="simulated s after the window")
    p.add_argument("--workers", type=int, default=2, help="server processes per policy")
    p.add_argument("--sequential", action="store_true", help="one policy after the other")
    p.add_argument("--name", default="simulate", help="result file name under bench/results/")
    p.add_argument("--no-plot", action="store_true")
    return p


def configs(args: argparse.Namespace) -> list[Config]:
    values = dict(PROFILES[args.profile])
    for key in ("compression", "assistants", "requests", "start_h", "hours", "drain_s"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    return [Config(policy=p, seed=args.seed, workers=args.workers, **values) for p in args.policy]


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Run every policy (in parallel processes unless --sequential); the report document."""
    cfgs = configs(args)
    started = time.monotonic()
    if args.sequential or len(cfgs) == 1:
        runs = {c.policy: run_policy(c) for c in cfgs}
    else:
        with ProcessPoolExecutor(len(cfgs), mp_context=mp.get_context("spawn")) as pool:
            futures = {c.policy: pool.submit(run_policy, c) for c in cfgs}
            runs = {p: f.result() for p, f in futures.items()}
    figs = {p: report.figures(r) for p, r in runs.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / f"{args.name}.png"
    if not args.no_plot:
        report.plot(runs, figs, png)
    params = {
        "profile": args.profile,
        "policies": args.policy,
        "concurrent": not args.sequential and len(cfgs) > 1,
        **{k: v for k, v in dataclasses.asdict(cfgs[0]).items() if k != "policy"},
    }
    public = {p: {k: v for k, v in f.items() if not k.startswith("_")} for p, f in figs.items()}
    path = write_result(args.name, params, {"policies": public})
    for line in lines(public):
        say(line)
    say(f"wrote {path}" + ("" if args.no_plot else f" and {png.name}")
        + f" in {time.monotonic() - started:.0f} s")  # fmt: skip
    return {"parameters": params, "policies": public, "runs": runs}


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
        ]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return simulate(parser().parse_args(argv))


if __name__ == "__main__":
    main()
    sys.exit(0)
