"""Bench 9 (bench/roads.py) on a throwaway database, in small: the two arms rank by what they say,
and the tiled copies are whole graphs of their own."""

from __future__ import annotations

import asyncpg

from bench import roads


async def test_arms_rank_by_what_they_say_and_copies_tile(throwaway_db):
    args = roads.parser().parse_args(
        ["--assistants", "60", "--pickups", "6", "--warmup", "1", "--parts", "2",
         "--rounds", "1", "--copies", "4"]
    )  # fmt: skip
    figures = await roads.bench_roads(throwaway_db, args)

    small, large = figures["rows"]
    assert small["edges"] == 2705 and large["edges"] == 4 * 2705
    for r in (small, large):
        assert set(r["eta_sources"]["straight_line"]) == {"straight_line"}
        assert r["eta_sources"]["road"].get("road", 0) > 0
        assert r["road"]["n"] == r["straight_line"]["n"] == 6
        assert {"snap_origins", "box", "dijkstra", "times_to"} <= set(r["parts_p50_ms"])

    conn = await asyncpg.connect(throwaway_db)
    try:
        # Each copy's edges join only its own vertices, and the budget is as it was.
        assert not await conn.fetchval(
            "SELECT count(*) FROM roads.edges e JOIN roads.vertices v ON v.id = e.source "
            "WHERE v.region_id <> e.region_id"
        )
        assert await conn.fetchval(
            "SELECT value #>> '{}' FROM dispatch.settings WHERE key = 'roads_max_edges'"
        ) == str(figures["budget_edges"])
    finally:
        await conn.close()
