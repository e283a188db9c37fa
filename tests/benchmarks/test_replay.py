"""Replay a recorded day (bench/simulate/replay.py): a simulated day whose truth is known, and the
demo history."""

from __future__ import annotations

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
    if recorded.fit["delay"] == "fitted":
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
