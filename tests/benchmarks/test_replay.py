"""Replay a recorded day (bench/simulate/replay.py): a simulated day whose truth is known, and the
demo history."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.simulate import replay
from bench.simulate.city import Behaviour
from bench.simulate.run import Config, simulate
from dispatch.demo.seed import seed_demo
from dispatch.runtime.testdb import clone_database, drop_database


async def test_replay_of_a_simulated_day_matches_its_truth(throwaway_db, template_url):
    # A simulated morning (the truth), recorded by the engine at 80x.
    cfg = Config(
        policy="rounds", seed=5, compression=80.0, assistants=12, per_day=900.0, start_h=9.0,
        hours=0.25, drain_s=240.0, behaviour=Behaviour(),
    )  # fmt: skip
    truth = await simulate(cfg, url=throwaway_db)
    since = datetime.fromisoformat(truth["t0_utc"])
    until = since + timedelta(seconds=cfg.hours * 3600 / cfg.compression)
    conn = await asyncpg.connect(throwaway_db)
    try:
        recorded = await replay.extract(
            conn, since, until, stretch=cfg.compression, origin_s=cfg.start_h * 3600
        )
    finally:
        await conn.close()
    # The extract finds the day as planned: every request, at its time and place, and the fleet
    # that worked.
    planned = sorted(r["at_s"] for r in truth["records"])
    got = [r.at_s for r in recorded.plan.requests]
    assert len(got) == len(planned) >= 5
    assert all(abs(a - b) < 10.0 for a, b in zip(got, planned, strict=True))
    on_shift = {s["assistant"] for s in truth["spells"]}
    assert len(recorded.plan.assistants) == len(on_shift)
    # The recorded figures are the truth's own.
    rec = replay.report.figures(recorded.result)
    sim = replay.report.figures(truth)
    assert rec["created"] == sim["created"]
    assert rec["assigned"] == sim["assigned"]
    assert abs(rec["offers_per_request"]["mean"] - sim["offers_per_request"]["mean"]) < 1.0

    # The answer delay is recovered from the offers (the simulation's lognormal, median 8 s).
    if recorded.fit["delay_from"] == "fitted":
        assert 4.0 < recorded.behaviour.respond_median_s < 16.0, recorded.fit

    # Replayed under the same policy on another throw-away database: close to what happened.
    other = await clone_database(template_url, "dispatch_tmp_replay")
    try:
        out = await replay.replay(
            recorded, policy="rounds", compression=cfg.compression, drain_s=cfg.drain_s, url=other
        )
    finally:
        await drop_database(other)
    got_rec, played = out["recorded"], out["played"]
    assert played["created"] == got_rec["created"]
    assert abs(played["unassigned_share"] - got_rec["unassigned_share"]) <= 0.35
    assert abs(played["offers_per_request"]["mean"] - got_rec["offers_per_request"]["mean"]) < 3
    assert played["pickup_km_achieved"]["n"] > 0
    assert "| never assigned, % |" in replay.side_by_side(out)


async def test_replay_of_the_demo_history_runs_and_reports(throwaway_db, template_url):
    await seed_demo(throwaway_db)
    conn = await asyncpg.connect(throwaway_db)
    try:
        first = await conn.fetchval("SELECT min(created_at) FROM dispatch.assistance_requests")
        since = first - timedelta(minutes=5)
        recorded = await replay.extract(conn, since, since + timedelta(hours=1))
    finally:
        await conn.close()
    assert recorded.plan.requests and recorded.plan.assistants
    assert recorded.fit["offers"] > 0
    assert 0 < recorded.behaviour.accept_max <= 1
    out = await replay.replay(recorded, compression=300.0, drain_s=600.0, url=throwaway_db)
    assert out["recorded"]["created"] == out["played"]["created"] == len(recorded.plan.requests)
    assert out["recorded"]["assigned"] > 0
    table = replay.side_by_side(out)
    assert "| time to assignment p90, simulated s |" in table
    assert datetime.now(UTC) > since


def test_the_answer_fit_recovers_a_known_curve():
    # Offers answered by the simulation's own model with known parameters; the fit finds them.
    truth = Behaviour(accept_max=0.7, accept_scale_km=4.0, respond_median_s=12.0, silence=0.1)
    rng = random.Random(4)
    offers: list[tuple[str, float, float | None]] = []
    for _ in range(3000):
        d = rng.uniform(0, 15)
        if rng.random() < truth.silence:
            offers.append(("expired", d, 20.0))
            continue
        ok = rng.random() < truth.accept_max * math.exp(-d / truth.accept_scale_km)
        delay = truth.respond_median_s * math.exp(rng.gauss(0, truth.respond_sigma))
        offers.append(("accepted" if ok else "declined", d, delay))
    offers += [("withdrawn", 1.0, None)] * 50  # censored: no answer observed
    fitted, fit = replay.fit_answers(offers, Behaviour())
    assert fit["acceptance_from"] == fit["delay_from"] == fit["silence_from"] == "fitted"
    # The curve, not each parameter: accept_max and the scale trade off against each other.
    for d in (0.0, 2.0, 5.0, 10.0):
        got = fitted.accept_max * math.exp(-d / fitted.accept_scale_km)
        assert abs(got - truth.accept_max * math.exp(-d / truth.accept_scale_km)) < 0.09, fit
    assert abs(fitted.respond_median_s - 12.0) < 1.0
    assert abs(fitted.respond_sigma - truth.respond_sigma) < 0.06
    assert abs(fitted.silence - 0.1) < 0.03
    # Too few offers: the simulation's defaults stay.
    _, few = replay.fit_answers(offers[:5], Behaviour())
    assert few["acceptance_from"] == few["delay_from"] == few["silence_from"] == "default"
    # An assistant who takes everything gets a factor above 1, one who takes nothing below.
    factors = replay.accept_factors({1: [(True, 5.0)] * 20, 2: [(False, 1.0)] * 20, 3: []}, fitted)
    assert factors[1] > 1.5 and factors[2] < 0.4 and factors[3] == 1.0
