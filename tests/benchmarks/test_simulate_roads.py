"""The road city (bench/simulate/roads.py, Monaco © OpenStreetMap contributors): a tiny day under
road and straight-line ranking against `dispatch serve --workers 2`."""

from __future__ import annotations

import random

import asyncpg
import pytest

from bench.simulate import report
from bench.simulate.city import haversine_km
from bench.simulate.roads import RoadCity, ensure_graph, pickup_times, position_at
from bench.simulate.run import Config, simulate
from dispatch.roads.extracts import ExtractError


async def _graph(url: str) -> RoadCity:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('roads.edges') IS NOT NULL"):
            pytest.skip("no roads schema")
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgrouting')"
        ):
            pytest.skip("pgRouting is not installed")
    finally:
        await conn.close()
    try:
        await ensure_graph(url)
    except ExtractError as exc:
        pytest.skip(f"the Monaco extract cannot be fetched: {exc}")
    return await RoadCity.load(url)


async def test_routes_follow_the_roads_at_the_engines_road_times(throwaway_db):
    city = await _graph(throwaway_db)
    rng = random.Random(5)
    pts = [city.place(rng) for _ in range(5)]
    assert all(city.snap(p)[2] < 1.0 for p in pts)  # places are on the main roads
    engine = await pickup_times(throwaway_db, {pts[0]: set(pts[1:])})
    for p in pts[1:]:
        route = city.route(p, pts[0])
        assert route[0][1:] == p and route[-1][1:] == pts[0]
        # The drive takes the engine's own road time (roads.times_to), to the second.
        assert route[-1][0] == pytest.approx(engine[(pts[0], p)], abs=2.0)
        # Positions along it move on: half-way is on a road, between the ends.
        mid = position_at(route, route[-1][0] / 2)
        assert city.snap(mid)[2] < 5.0
        assert haversine_km(mid, p) > 0 or haversine_km(p, pts[0]) < 0.05


async def test_tiny_road_day_reports_road_pickup_times_for_both_rankings(throwaway_db):
    await _graph(throwaway_db)
    figs = {}
    for ranking in ("road", "straight"):
        # 6 simulated minutes of the evening at 60x (about 10 s of real time each), 8 assistants.
        cfg = Config(
            policy="rounds", seed=2, compression=60.0, assistants=8, per_day=1500.0, start_h=17.0,
            hours=0.1, drain_s=180.0, city="monaco", ranking=ranking,
        )  # fmt: skip
        figs[ranking] = report.figures(await simulate(cfg, url=throwaway_db))
    conn = await asyncpg.connect(throwaway_db)
    try:
        budget = await conn.fetchval(
            "SELECT value::text FROM dispatch.settings WHERE key = 'roads_max_edges'"
        )
    finally:
        await conn.close()
    assert budget != "0"  # the straight run restored the routing budget
    assert set(figs["road"]["offer_eta_sources"]) == {"road"}
    assert set(figs["straight"]["offer_eta_sources"]) == {"straight_line"}
    for f in figs.values():
        assert f["created"] >= 3 and f["offers_per_request"]["mean"] >= 1
        # Every assigned pickup is costed by road, and the hindsight optimum of the same road
        # times never costs more.
        assert f["pickup_s_achieved"]["n"] == f["assigned"] == f["pickup_s_optimum"]["n"]
        assert f["pickup_s_total"]["optimum"] <= f["pickup_s_total"]["achieved"] + 1
    table = report.seeds_table({2: {f"rounds-{k}": v for k, v in figs.items()}})
    assert "pickup time p50, road s" in table and "rounds-straight" in table
