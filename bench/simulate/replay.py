"""Replay a recorded day: rebuild it from the database's own history and play it under a policy.

`python -m bench.simulate.replay --date YYYY-MM-DD [--policy P]` reads the day from the database in
use (never writes to it), plays it against a throw-away database and server with the simulation's
agents (bench/simulate/run.py), and prints the played day beside what actually happened, both
measured by bench/simulate/report.py. See docs/simulation.md, "Replay a recorded day".

The command lives in bench/, not in `dispatch`: the player is the simulation (its agents, server
harness and report), which is not part of the installed package, and dispatch/ imports no bench code.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import numpy as np
import orjson

from bench.common import bench_database, say
from bench.simulate import policies, report
from bench.simulate.city import (
    Behaviour,
    DayPlan,
    PlannedAssistant,
    PlannedRequest,
    haversine_km,
    offset,
)
from bench.simulate.run import Config, simulate
from dispatch.core.config import Settings
from dispatch.runtime.devdb import database_url

# Below these many answered offers (accepted or declined) the acceptance curve keeps the
# simulation's default; below MIN_DELAYS timed answers, the answer delay does.
MIN_ANSWERS = 20
MIN_DELAYS = 10
# Pseudo-offers pulling an assistant's own acceptance towards the fleet's curve: an assistant with
# few answers keeps about the fleet's, one with many gets its own.
PRIOR_OFFERS = 5.0
# The engine's offer_policy values and the simulation's policy playing each.
ENGINE_POLICY = {"rounds": "rounds", "broadcast": "broadcast", "assignment": "assignment"}


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A recorded window, ready to play (`plan`, `behaviour`) and to measure (`result`)."""

    plan: DayPlan
    behaviour: Behaviour
    fit: dict[str, Any]  # what was fitted from the offers, and from how many
    result: dict[str, Any]  # what happened, in the shape report.figures reads
    policy: str  # the engine's offer_policy of the recorded database, as a simulation policy


def fit_answers(
    offers: list[tuple[str, float, float | None]], base: Behaviour
) -> tuple[Behaviour, dict[str, Any]]:
    """The answer model from recorded offers: (state, distance km, answer delay s or None).

    Acceptance against distance: accept_max * exp(-d / accept_scale_km) by maximum likelihood over
    a grid, on the answered offers (accepted vs declined). Answer delay: lognormal (the median and
    the spread of the log) of accepted and declined offers. Silence: the expired share of offers
    that were answered or expired. Withdrawn or open offers are censored (no answer observed) and
    left out. Too few offers keep the simulation's default for that part."""
    answered = [(s == "accepted", d) for s, d, _ in offers if s in ("accepted", "declined")]
    expired = sum(1 for s, _, _ in offers if s == "expired")
    delays = [x for s, _, x in offers if s in ("accepted", "declined") and x is not None and x > 0]
    fit: dict[str, Any] = {"offers": len(offers), "answered": len(answered), "expired": expired}
    b = base
    if len(answered) >= MIN_ANSWERS:
        ok = np.array([o for o, _ in answered], dtype=bool)
        d = np.array([x for _, x in answered], dtype=float)
        a = np.linspace(0.02, 1.0, 50)[:, None, None]
        s = np.linspace(0.5, 50.0, 100)[None, :, None]
        p = np.clip(a * np.exp(-d[None, None, :] / s), 1e-6, 1 - 1e-6)
        nll = -np.where(ok, np.log(p), np.log(1 - p)).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(nll)), nll.shape)
        b = dataclasses.replace(
            b, accept_max=round(float(a[i, 0, 0]), 3), accept_scale_km=round(float(s[0, j, 0]), 2)
        )
        fit["acceptance_from"] = "fitted"
    else:
        fit["acceptance_from"] = "default"
    if len(delays) >= MIN_DELAYS:
        logs = [math.log(x) for x in delays]
        mu = sum(logs) / len(logs)
        sigma = math.sqrt(sum((v - mu) ** 2 for v in logs) / len(logs))
        b = dataclasses.replace(b, respond_median_s=math.exp(mu), respond_sigma=sigma)
        fit["delay_from"] = "fitted"
    else:
        fit["delay_from"] = "default"
    if len(answered) + expired >= MIN_ANSWERS:
        b = dataclasses.replace(b, silence=expired / (len(answered) + expired))
        fit["silence_from"] = "fitted"
    else:
        fit["silence_from"] = "default"
    fit.update(
        accept_max=b.accept_max,
        accept_scale_km=b.accept_scale_km,
        respond_median_s=round(b.respond_median_s, 2),
        respond_sigma=round(b.respond_sigma, 3),
        silence=round(b.silence, 3),
    )
    return b, fit


def accept_factors(answered: dict[int, list[tuple[bool, float]]], b: Behaviour) -> dict[int, float]:
    """Each assistant's acceptance against the fleet's curve: (accepted + prior) / (expected under
    the curve + prior), from its answered offers (accepted?, distance km)."""
    out = {}
    for who, rows in answered.items():
        expected = sum(min(1.0, b.accept_max * math.exp(-d / b.accept_scale_km)) for _, d in rows)
        took = sum(1 for ok, _ in rows if ok)
        out[who] = round(
            (took + PRIOR_OFFERS * b.accept_max) / (expected + PRIOR_OFFERS * b.accept_max), 3
        )
    return out


def _intervals(toggles: list[tuple[float, bool]], end: float) -> list[tuple[float, float]]:
    """On-shift intervals within [0, end] from (time, is_active) rows in time order (rows before 0
    give the state at 0)."""
    out: list[tuple[float, float]] = []
    on_since: float | None = None
    for t, active in toggles:
        t = min(max(t, 0.0), end)
        if active and on_since is None:
            on_since = t
        elif not active and on_since is not None:
            if t > on_since:
                out.append((on_since, t))
            on_since = None
    if on_since is not None and end > on_since:
        out.append((on_since, end))
    return out


def _minus(
    spans: list[tuple[float, float]], busy: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """`spans` without the `busy` intervals (the idle spells of a shift)."""
    out = []
    for lo, hi in spans:
        cur = lo
        for b_lo, b_hi in sorted(busy):
            if b_hi <= cur or b_lo >= hi:
                continue
            if b_lo > cur:
                out.append((cur, b_lo))
            cur = max(cur, b_hi)
        if cur < hi:
            out.append((cur, hi))
    return out


def _held(track: list[tuple[float, float, float]], t: float) -> tuple[float, float] | None:
    """The position held at `t`: the last report at or before it, else the first after."""
    before = [p for p in track if p[0] <= t]
    p = before[-1] if before else (track[0] if track else None)
    return (p[1], p[2]) if p else None


async def extract(
    conn: asyncpg.Connection,
    since: datetime,
    until: datetime,
    *,
    stretch: float = 1.0,
    origin_s: float | None = None,
    base: Behaviour | None = None,
) -> Recorded:
    """The recorded window [since, until) as a day to play and as what happened.

    `stretch` multiplies recorded durations (a day recorded by the simulator at 100x has
    stretch 100); `origin_s` is the window's start in seconds since midnight (default: since's)."""
    b = base or Behaviour()
    span = (until - since).total_seconds()
    origin = (
        origin_s
        if origin_s is not None
        else (since - since.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    )
    end = span * stretch

    def at(seconds: float | None) -> float | None:
        return None if seconds is None else float(seconds) * stretch

    reqs = await conn.fetch(
        """
        SELECT r.id, extract(epoch FROM r.created_at - $1) AS t,
               ST_Y(r.pickup::geometry) AS lat, ST_X(r.pickup::geometry) AS lng,
               ST_Y(r.dropoff::geometry) AS dlat, ST_X(r.dropoff::geometry) AS dlng,
               r.service_type, r.status, r.distance_km, r.assistant_id,
               extract(epoch FROM r.accepted_at - $1) AS accepted,
               extract(epoch FROM coalesce(r.completed_at, r.canceled_at) - $1) AS closed,
               extract(epoch FROM r.canceled_at - $1) AS canceled,
               (SELECT count(*) FROM dispatch.offers o WHERE o.assistance_id = r.id) AS offers,
               (SELECT max(o.round) FROM dispatch.offers o WHERE o.assistance_id = r.id) AS rounds,
               (SELECT o.distance_m FROM dispatch.offers o
                WHERE o.assistance_id = r.id AND o.state = 'accepted') AS offer_m
        FROM dispatch.assistance_requests r
        WHERE r.created_at >= $1 AND r.created_at < $2
        ORDER BY r.created_at, r.id
        """,
        since,
        until,
    )
    activity = await conn.fetch(
        """
        SELECT assistant_id, is_active, extract(epoch FROM at - $1) AS t
        FROM dispatch.assistant_activity WHERE at < $2 ORDER BY assistant_id, at, id
        """,
        since,
        until,
    )
    toggles: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for row in activity:
        toggles[row["assistant_id"]].append((at(row["t"]) or 0.0, row["is_active"]))
    shifts = {a: _intervals(rows, end) for a, rows in toggles.items()}
    shifts = {a: s for a, s in shifts.items() if s}
    ids = sorted(shifts)
    tracks: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for row in await conn.fetch(
        """
        SELECT user_id, extract(epoch FROM recorded_at - $1) AS t,
               ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lng
        FROM dispatch.position_history
        WHERE user_id = ANY($3::bigint[]) AND recorded_at < $2
        ORDER BY user_id, recorded_at
        """,
        since,
        until,
        ids,
    ):
        tracks[row["user_id"]].append((at(row["t"]) or 0.0, row["lat"], row["lng"]))
    for row in await conn.fetch(
        """
        SELECT user_id, ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lng
        FROM dispatch.positions WHERE user_id = ANY($1::bigint[])
        """,
        ids,
    ):
        if not tracks[row["user_id"]]:  # never reported a position: where it is now
            tracks[row["user_id"]].append((0.0, row["lat"], row["lng"]))
    ids = [a for a in ids if tracks[a]]
    index = {a: k for k, a in enumerate(ids)}
    # Clients' patience as observed: the cancel time of a request nobody took; a request taken
    # (or still open) is censored: it waits at least as long as it did, and the median observed
    # patience (the simulation's default when none was observed).
    observed = sorted(
        at(r["canceled"] - r["t"]) or 0.0
        for r in reqs
        if r["accepted"] is None and r["canceled"] is not None
    )
    typical = observed[len(observed) // 2] if observed else b.patience_median_s
    planned, records = [], []
    busy: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for k, r in enumerate(reqs):
        t = at(r["t"]) or 0.0
        pickup = (r["lat"], r["lng"])
        dropoff = (
            (r["dlat"], r["dlng"])
            if r["dlat"] is not None
            else offset(pickup, max(float(r["distance_km"] or 0), 0.5), 0.0)
        )
        accepted, canceled = at(r["accepted"]), at(r["canceled"])
        if accepted is None and canceled is not None:
            patience = max(canceled - t, 1.0)
        else:
            patience = max(typical, (accepted or t) - t)
        planned.append(PlannedRequest(k, origin + t, pickup, dropoff, patience, r["service_type"]))
        rec = {
            "index": k, "at_s": origin + t, "pickup": pickup, "patience_s": patience,
            "created": t, "http_s": None, "nearby": 0, "offers": int(r["offers"]),
            "max_round": int(r["rounds"] or 0), "assigned": accepted, "assistant": None,
            "pickup_km": None, "accept_pos": None, "exhausted": None, "closed": canceled,
            "started": None, "completed": None,
            "outcome": "assigned" if accepted is not None else (
                "gave_up_waiting" if canceled is not None else "open_at_end"),
        }  # fmt: skip
        who = r["assistant_id"]
        if accepted is not None and who is not None:
            pos = _held(tracks.get(who, []), accepted)
            rec["assistant"] = index.get(who)
            rec["accept_pos"] = pos
            rec["pickup_km"] = (
                haversine_km(pos, pickup) if pos is not None else float(r["offer_m"] or 0.0) / 1000
            )
            closed = at(r["closed"])
            busy[who].append((accepted, closed if closed is not None else end))
        records.append(rec)
    assistants, spells = [], []
    for a in ids:
        track = tracks[a]
        first = shifts[a][0][0]
        assistants.append(
            PlannedAssistant(
                index[a],
                _held(track, first) or track[0][1:],  # type: ignore[arg-type]
                tuple((origin + lo, origin + hi) for lo, hi in shifts[a]),
            )
        )
        for lo, hi in _minus(shifts[a], busy[a]):
            held = _held(track, lo)
            pts = [(lo, *held)] if held else []
            pts += [p for p in track if lo < p[0] <= hi]
            spells.append({"assistant": index[a], "start": lo, "end": hi, "positions": pts})
    offer_rows = await conn.fetch(
        """
        SELECT o.assistant_id, o.state, o.distance_m / 1000 AS km,
               extract(epoch FROM o.closed_at - o.sent_at) AS delay
        FROM dispatch.offers o
        WHERE o.sent_at >= $1 AND o.sent_at < $2
        """,
        since,
        until,
    )
    behaviour, fit = fit_answers(
        [(o["state"], float(o["km"]), at(o["delay"])) for o in offer_rows], b
    )
    answered: dict[int, list[tuple[bool, float]]] = defaultdict(list)
    for o in offer_rows:
        if o["state"] in ("accepted", "declined"):
            answered[o["assistant_id"]].append((o["state"] == "accepted", float(o["km"])))
    factors = accept_factors(answered, behaviour)
    services = dict(
        await conn.fetch(
            "SELECT user_id, service_type FROM dispatch.assistants WHERE user_id = ANY($1::bigint[])",
            ids,
        )
    )
    assistants = [
        dataclasses.replace(
            p, service_type=services.get(a, "towing"), accept_factor=factors.get(a, 1.0)
        )
        for a, p in zip(ids, assistants, strict=True)
    ]
    fit["accept_factors"] = {str(a): f for a, f in factors.items() if a in index}
    raw = await conn.fetchval("SELECT value FROM dispatch.settings WHERE key = 'offer_policy'")
    engine_policy = orjson.loads(raw) if raw else "rounds"
    plan = DayPlan(origin, origin + end, planned, assistants)
    result = {
        "policy": "recorded",
        "road_s": None,
        "description": "what the database recorded",
        "settings": {},
        "config": {"compression": 1.0},
        "wall_s": 0.0,
        "records": records,
        "spells": spells,
        "counters": {},
        "timeline": [],
        "db": {},
        "http_latency": [],
    }
    fit["assistants"] = len(assistants)
    fit["requests"] = len(planned)
    fit["patience_observed"] = len(observed)
    return Recorded(plan, behaviour, fit, result, ENGINE_POLICY.get(engine_policy, "rounds"))


async def replay(
    recorded: Recorded,
    *,
    policy: str | None = None,
    compression: float = 100.0,
    drain_s: float = 1800.0,
    seed: int = 1,
    url: str | None = None,
) -> dict[str, Any]:
    """Play `recorded` under `policy` (default: the recorded database's) on a throw-away database
    (`url`, default `<db>_replay`); the recorded and played figures side by side."""
    name = policy or recorded.policy
    plan = recorded.plan
    cfg = Config(
        policy=name, seed=seed, compression=compression, assistants=len(plan.assistants),
        per_day=0.0, start_h=plan.start_s / 3600, hours=(plan.end_s - plan.start_s) / 3600,
        drain_s=drain_s, behaviour=recorded.behaviour,
    )  # fmt: skip
    if url is None:
        url = await bench_database(Settings.from_env(), suffix="_replay")
    played = await simulate(cfg, url=url, plan=plan)
    return {
        "policy": name,
        "fit": recorded.fit,
        "recorded": report.figures(recorded.result),
        "played": report.figures(played),
    }


def side_by_side(out: dict[str, Any]) -> str:
    """The recorded and the played figures as a Markdown table (the simulation's measures)."""
    rows = [
        "| measure | recorded | replayed (" + out["policy"] + ") |",
        "|---|---|---|",
    ]
    for label, fn in report.ROAD_ROWS:
        if "road" in label or "HTTP" in label or label == "median achieved / optimum":
            continue
        cells = [fn(out[k]) for k in ("recorded", "played")]
        rows.append(
            f"| {label} | " + " | ".join("-" if c is None else f"{c:.4g}" for c in cells) + " |"
        )
    return "\n".join(rows) + "\n"


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    since = datetime.combine(args.date, time(), UTC) + timedelta(hours=args.from_h)
    until = since + timedelta(hours=args.hours)
    conn = await asyncpg.connect(database_url(settings.db))
    try:
        recorded = await extract(conn, since, until)
    finally:
        await conn.close()
    if not recorded.plan.requests:
        sys.exit(f"replay: no request was recorded between {since} and {until}")
    say(f"replay {since:%Y-%m-%d %H:%M}+{args.hours:g} h: {recorded.fit}")
    return await replay(
        recorded, policy=args.policy, compression=args.compression, drain_s=args.drain_s
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate.replay", description=__doc__)
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="UTC day")
    parser.add_argument("--policy", choices=sorted(policies.POLICIES), default=None,
                        help="default: the recorded database's offer_policy")  # fmt: skip
    parser.add_argument("--from-h", type=float, default=0.0, help="window start, UTC hour")
    parser.add_argument("--hours", type=float, default=24.0, help="window length")
    parser.add_argument("--compression", type=float, default=100.0, help="simulated s per real s")
    parser.add_argument("--drain-s", type=float, default=1800.0, help="simulated s after the end")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = parser.parse_args(argv)
    out = asyncio.run(_main(args))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(side_by_side(out), end="")


if __name__ == "__main__":
    main()
