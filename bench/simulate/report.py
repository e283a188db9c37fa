"""Figures of a simulated day: time to assignment, unassigned share, offers, and the offline optimum.

The offline optimum (`optimum`) is a minimum-cost bipartite matching, solved with
scipy.optimize.linear_sum_assignment, between
- rows: the requests our run assigned, each with the interval it waited, [created, assigned];
- columns: idle spells - an assistant on shift with no job, from going active or finishing a job until
  it accepted a job or went off shift - with every position it held meanwhile (it may drive);
- cost[r][s]: the smallest distance (haversine, km) from r's pickup to a position spell s held while
  r was waiting (an idle spell overlapping r's interval); BIG (infeasible) when they never overlap.
An assistant that did two jobs has two spells, so it can serve two requests, as it did. The
assignment we achieved is itself a feasible matching of this matrix (the winner's spell ends at its
accept, inside r's interval, and its distance then is what we record as the achieved pickup
distance), so the optimum's total never exceeds ours: the gap is what hindsight could have saved
with the same supply at the same moments.
`coverage` solves the same matching with every created request, each waiting as long as its client's
patience: how many requests the idle supply could have served at most.
In a road city (`road_figures`) the same matching is solved again with the road time in seconds
(roads.times_to, the engine's own) as the cost, against the road time from where the winner was at
its accept.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from bench.common import percentile
from bench.simulate.city import haversine_km

BIG = 1e9


def _positions_during(spell: dict[str, Any], lo: float, hi: float) -> list[tuple[float, float]]:
    """Positions the spell held at some moment of [lo, hi] (the one held at lo, then any later)."""
    pts = spell["positions"]
    times = [p[0] for p in pts]
    k = max(0, bisect.bisect_right(times, lo) - 1)
    return [(p[1], p[2]) for p in pts[k:] if p[0] <= hi]


def overlapping_positions(
    lo: float, hi: float, spells: list[dict[str, Any]]
) -> list[tuple[int, list[tuple[float, float]]]]:
    """(spell index, positions held) of every spell idle at some moment of [lo, hi]."""
    out = []
    for j, s in enumerate(spells):
        if s["start"] <= hi and s["end"] >= lo:
            pts = _positions_during(s, max(lo, s["start"]), min(hi, s["end"]))
            if pts:
                out.append((j, pts))
    return out


def matching(
    rows: list[tuple[tuple[float, float], float, float]],
    spells: list[dict[str, Any]],
    cost: Callable[[tuple[float, float], tuple[float, float]], float | None] = haversine_km,
) -> tuple[list[float], int]:
    """Min-cost matching of (pickup, from, to) rows to spells; (matched costs, unmatched rows).
    `cost(pickup, position)`: km by default; None where it cannot be costed (infeasible)."""
    if not rows or not spells:
        return [], len(rows)
    matrix = np.full((len(rows), len(spells)), BIG)
    for i, (pickup, lo, hi) in enumerate(rows):
        for j, pts in overlapping_positions(lo, hi, spells):
            costs = [c for c in (cost(pickup, p) for p in pts) if c is not None]
            if costs:
                matrix[i, j] = min(costs)
    r, c = linear_sum_assignment(matrix)
    got = [float(matrix[i, j]) for i, j in zip(r, c, strict=True) if matrix[i, j] < BIG]
    return got, len(rows) - len(got)


def road_figures(result: dict[str, Any], assigned: list[dict[str, Any]]) -> dict[str, Any]:
    """A road city's pickups in road seconds (roads.times_to): achieved, from where the winner was
    at its accept, against the offline optimum costed by the same road times."""
    road_s = result["road_s"]
    rows, achieved = [], []
    for r in assigned:
        s = road_s.get((tuple(r["pickup"]), tuple(r["accept_pos"] or ())))
        if s is not None:
            rows.append((tuple(r["pickup"]), r["created"], r["assigned"]))
            achieved.append(s)
    best, _ = matching(rows, result["spells"], lambda p, q: road_s.get((p, q)))
    med_a = percentile(achieved, 50) if achieved else math.nan
    med_o = percentile(best, 50) if best else math.nan
    eta = {k[len("offer_eta_"):]: v for k, v in result["counters"].items()
           if k.startswith("offer_eta_")}  # fmt: skip
    return {
        "pickup_s_achieved": summary(achieved, 1),
        "pickup_s_optimum": summary(best, 1),
        "pickup_s_total": {"achieved": round(sum(achieved)), "optimum": round(sum(best))},
        "pickup_s_median_vs_optimum": round(med_a / med_o, 3) if best and med_o > 0 else None,
        "pickup_s_unroutable": len(assigned) - len(rows),
        "offer_eta_sources": eta,
    }


def summary(values: list[float], digits: int = 2) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "mean": None}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), digits),
        "p90": round(percentile(values, 90), digits),
        "p99": round(percentile(values, 99), digits),
        "mean": round(sum(values) / len(values), digits),
    }


def every_request(waits: list[float], unassigned: int, q: float) -> float | str | None:
    """The q-th percentile of the wait of *every* request, a never-assigned one counting as never:
    the time to assignment over the assigned alone flatters a policy that leaves the hard
    requests unserved (they are the slow ones when served). "never" when the percentile falls
    among the unassigned."""
    n = len(waits) + unassigned
    if n == 0:
        return None
    rank = max(1, math.ceil(q / 100 * n))
    return round(sorted(waits)[rank - 1], 1) if rank <= len(waits) else "never"


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """The report of one policy's run (see the module docstring for the optimum)."""
    f = result["config"]["compression"]
    recs = result["records"]
    created = [r for r in recs if r["created"] is not None and r["outcome"] != "never_sent"]
    ok = [r for r in created if not str(r["outcome"]).startswith("http_")]
    assigned = [r for r in ok if r["assigned"] is not None]
    waits = [r["assigned"] - r["created"] for r in assigned]
    outcomes: dict[str, int] = {}
    for r in recs:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    spells = result["spells"]
    rows = [(tuple(r["pickup"]), r["created"], r["assigned"]) for r in assigned]
    best, _ = matching(rows, spells)
    achieved = [r["pickup_km"] for r in assigned]
    # Coverage: every request, waiting its client's whole patience.
    cover_rows = [
        (tuple(r["pickup"]), r["created"], r["created"] + r["patience_s"] / f) for r in ok
    ]
    covered, uncovered = matching(cover_rows, spells)
    offers = [r["offers"] for r in ok]
    db = result["db"]
    db_offers = [r.get("db_offers", 0) for r in ok] if db.get("offers_table") else []
    med_a = percentile(achieved, 50) if achieved else math.nan
    med_o = percentile(best, 50) if best else math.nan
    gaps = db.get("round_gaps") or []
    return {
        "requests": len(recs),
        "created": len(ok),
        "assigned": len(assigned),
        "unassigned": len(ok) - len(assigned),
        "unassigned_share": round((len(ok) - len(assigned)) / len(ok), 4) if ok else None,
        "outcomes": outcomes,
        "time_to_assignment_sim_s": summary([x * f for x in waits], 1),
        "time_to_assignment_real_s": summary(waits, 4),
        "time_to_assignment_every_request_sim_s": {
            f"p{q}": every_request([x * f for x in waits], len(ok) - len(assigned), q)
            for q in (50, 90)
        },
        "offers_per_request": summary([float(o) for o in offers]),
        "offers_per_request_db": summary([float(o) for o in db_offers]) if db_offers else None,
        "first_round_size": summary([float(r["nearby"]) for r in ok]),
        "rounds_per_request": summary([float(r["max_round"]) for r in ok]),
        "pickup_km_achieved": summary(achieved),
        "pickup_km_optimum": summary(best),
        "pickup_total_km": {"achieved": round(sum(achieved), 2), "optimum": round(sum(best), 2)},
        "median_vs_optimum": round(med_a / med_o, 3) if best and med_o > 0 else None,
        "within_10_percent": bool(best) and med_a <= 1.1 * med_o,
        "optimum_could_serve": {"served": len(covered), "unserved": uncovered},
        "round_gap_sim_s": summary([g * f for g, _ in gaps], 1),
        "round_nominal_sim_s": round(gaps[0][1] * f, 1) if gaps else None,
        "http_latency_ms": summary([x * 1000 for x in result["http_latency"]]),
        # The time the machine adds to every answer, in the simulation's units: a round trip of
        # 10 ms is one simulated second at 100x. Comparable to a round's 20 s, it distorts.
        "http_latency_sim_s": summary([x * f for x in result["http_latency"]], 1),
        "counters": result["counters"],
        "offer_states_db": db.get("states"),
        "wall_s": round(result["wall_s"], 1),
        "settings": result["settings"],
        "description": result["description"],
        **(road_figures(result, assigned) if result.get("road_s") is not None else {}),
        "_waits_sim": sorted(x * f for x in waits),
        "_achieved": sorted(achieved),
        "_optimum": sorted(best),
    }


def plot(runs: dict[str, dict[str, Any]], figs: dict[str, dict[str, Any]], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    colour = {name: f"C{i}" for i, name in enumerate(runs)}
    first = next(iter(runs.values()))
    a = ax[0][0]
    per_hour: dict[int, int] = {}
    for r in first["records"]:
        per_hour[int(r["at_s"] // 3600)] = per_hour.get(int(r["at_s"] // 3600), 0) + 1
    a.bar([h + 0.5 for h in per_hour], list(per_hour.values()), width=0.9, alpha=0.35,
          label="requests per hour", color="tab:grey")  # fmt: skip
    for name, res in runs.items():
        tl = res["timeline"]
        hs = [t / 3600 for t, *_ in tl]
        a.plot(hs, [s[1] for s in tl], color=colour[name], label=f"on shift ({name})")
        a.plot(hs, [s[2] for s in tl], color=colour[name], ls="--", label=f"on a job ({name})")
    a.set_xlabel("simulated hour of the day")
    a.set_title("Demand and supply over the day", fontsize=9)
    a.legend(fontsize=7)
    a.grid(alpha=0.3)
    cfg = first["config"]
    a.set_xlim(cfg["start_h"], cfg["start_h"] + cfg["hours"])
    a = ax[0][1]
    for name, fg in figs.items():
        w = fg["_waits_sim"]
        if w:
            a.plot(
                w, [100 * (i + 1) / len(w) for i in range(len(w))], color=colour[name], label=name
            )
    a.set_xscale("log")
    a.xaxis.set_major_formatter(ScalarFormatter())
    a.xaxis.set_minor_formatter(NullFormatter())
    a.set_xlabel("time to assignment, simulated seconds")
    a.set_ylabel("% of assigned requests")
    a.set_title("Time to assignment (CDF)", fontsize=9)
    a.legend(fontsize=8)
    a.grid(alpha=0.3, which="both")
    a = ax[1][0]
    for name, fg in figs.items():
        for key, ls in (("_achieved", "-"), ("_optimum", ":")):
            v = fg[key]
            if v:
                label = f"{name} {'achieved' if key == '_achieved' else 'offline optimum'}"
                a.plot(v, [100 * (i + 1) / len(v) for i in range(len(v))], ls=ls,
                       color=colour[name], label=label)  # fmt: skip
    a.set_xlabel("pickup distance, km")
    a.set_ylabel("% of assigned requests")
    a.set_title("Pickup distance: achieved vs offline optimum (CDF)", fontsize=9)
    a.legend(fontsize=7)
    a.grid(alpha=0.3)
    a = ax[1][1]
    names = list(figs)
    x = np.arange(len(names))
    share = [100 * (figs[n]["unassigned_share"] or 0) for n in names]
    offers = [figs[n]["offers_per_request"]["mean"] or 0 for n in names]
    med = [figs[n]["pickup_km_achieved"]["p50"] or 0 for n in names]
    a.bar(x - 0.27, share, 0.27, label="never assigned, %")
    a.bar(x, offers, 0.27, label="offers per request (mean)")
    a.bar(x + 0.27, med, 0.27, label="median pickup km")
    a.set_xticks(x, names)
    a.set_title("Policies side by side", fontsize=9)
    a.legend(fontsize=8)
    a.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _at(f: dict[str, Any], *keys: str) -> float | None:
    """f[k1][k2]... as a float, None where a run has no such figure (a geodesic run's road rows)."""
    v: Any = f
    for k in keys:
        if not isinstance(v, dict) or v.get(k) is None:
            return None
        v = v[k]
    return float(v)


def _unservable(f: dict[str, Any]) -> float | None:
    """The share (%) of requests even the offline optimum could not serve."""
    served, created = _at(f, "optimum_could_serve", "served"), f.get("created")
    return round(100 * (created - served) / created, 1) if created and served is not None else None


def _every_p90(f: dict[str, Any]) -> float | None:
    """The p90 of every request's wait; never (inf) when over a tenth were never assigned (also
    for runs recorded before the figure existed)."""
    got = (f.get("time_to_assignment_every_request_sim_s") or {}).get("p90")
    if got == "never" or (got is None and (f.get("unassigned_share") or 0) > 0.1):
        return math.inf
    return None if got is None else float(got)


# The rows of the seeds table: (label, figure of one run); each cell the median over the seeds.
# The road rows are "-" for a geodesic city.
ROAD_ROWS: list[tuple[str, Callable[[dict[str, Any]], float | None]]] = [
    ("pickup time p50, road s", lambda f: _at(f, "pickup_s_achieved", "p50")),
    ("pickup time p90, road s", lambda f: _at(f, "pickup_s_achieved", "p90")),
    ("offline optimum p50, road s", lambda f: _at(f, "pickup_s_optimum", "p50")),
    ("offline optimum p90, road s", lambda f: _at(f, "pickup_s_optimum", "p90")),
    ("median achieved / optimum", lambda f: _at(f, "pickup_s_median_vs_optimum")),
    ("pickup km p50 (straight line)", lambda f: _at(f, "pickup_km_achieved", "p50")),
    ("offline optimum pickup km p50", lambda f: _at(f, "pickup_km_optimum", "p50")),
    ("median km achieved / optimum", lambda f: _at(f, "median_vs_optimum")),
    ("never assigned, %", lambda f: round(100 * (f["unassigned_share"] or 0), 1)),
    ("the optimum could not serve, %", _unservable),
    ("offers per request (mean)", lambda f: _at(f, "offers_per_request", "mean")),
    ("time to assignment p50, simulated s", lambda f: _at(f, "time_to_assignment_sim_s", "p50")),
    ("time to assignment p90, simulated s", lambda f: _at(f, "time_to_assignment_sim_s", "p90")),
    ("time to assignment p90 of every request (never assigned: never), simulated s", _every_p90),
    ("requests (created)", lambda f: float(f["created"])),
    ("offers ranked by road, %", lambda f: _road_share(f.get("offer_eta_sources") or {})),
    ("HTTP round trip p50, simulated s", lambda f: _at(f, "http_latency_sim_s", "p50")),
]


def _road_share(eta: dict[str, int]) -> float | None:
    total = sum(eta.values())
    return round(100 * eta.get("road", 0) / total, 1) if total else None


def _g(x: float) -> str:
    return "never" if math.isinf(x) or math.isnan(x) else f"{x:.4g}"


def seeds_table(per_seed: dict[int, dict[str, dict[str, Any]]]) -> str:
    """The runs side by side, each figure the median over the seeds with its range (min-max)."""
    seeds = list(per_seed)
    names = list(per_seed[seeds[0]])
    out = [
        f"| measure (median of seeds {', '.join(map(str, seeds))}; min-max) | "
        + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]  # fmt: skip
    for label, fn in ROAD_ROWS:
        cells = []
        for n in names:
            vals = [v for v in (fn(per_seed[s][n]) for s in seeds) if v is not None]
            cells.append(
                f"{_g(percentile(vals, 50))} ({_g(min(vals))}-{_g(max(vals))})" if vals else "-"
            )
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
