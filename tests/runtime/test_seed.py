"""`dispatch seed`: the demo data set with its hours of history, written once, so the analyst
functions and the console have something to show on a fresh machine."""

from __future__ import annotations

import asyncpg

from dispatch.demo.seed import DEMO_ASSISTANTS, DEMO_DISPATCHER, seed_demo


async def test_seed_writes_history_once(throwaway_db):
    first = await seed_demo(throwaway_db)
    again = await seed_demo(throwaway_db)
    assert "past requests" in first and "past requests" not in again
    conn = await asyncpg.connect(throwaway_db)
    try:
        counts = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM dispatch.assistants) AS assistants,
                   (SELECT count(*) FROM dispatch.users WHERE email = $1 AND role = 'dispatcher')
                       AS dispatchers,
                   (SELECT count(*) FROM dispatch.assistance_requests WHERE status = 'requested')
                       AS open_requests,
                   (SELECT count(*) FROM dispatch.assistance_requests) AS requests,
                   (SELECT min(created_at) < now() - interval '3 hours'
                      FROM dispatch.assistance_requests) AS hours_back
            """,
            DEMO_DISPATCHER[1],
        )
        assert counts["assistants"] == len(DEMO_ASSISTANTS)
        assert counts["dispatchers"] == 1 and counts["open_requests"] == 2
        assert counts["requests"] > 30 and counts["hours_back"]
        figures = await conn.fetchrow(
            """
            SELECT (SELECT sum(requests) FROM dispatch.cell_demand_supply(8, now() - interval '1 day'))
                       AS demand,
                   (SELECT sum(idle_assistants)
                      FROM dispatch.cell_demand_supply(7, now() - interval '1 day')) AS supply,
                   (SELECT sum(sent) FROM dispatch.offer_funnel) AS offers,
                   (SELECT count(*) FROM dispatch.time_to_accept(7, now() - interval '1 day')
                     WHERE p50_s IS NOT NULL) AS waits,
                   (SELECT count(*) FROM dispatch.assistant_utilisation(current_date - 1,
                                                                         current_date + 1)
                     WHERE online_minutes > 60) AS online
            """
        )
        assert figures["demand"] == counts["requests"]
        assert figures["supply"] > 0 and figures["offers"] > 0 and figures["waits"] > 0
        assert figures["online"] >= len(DEMO_ASSISTANTS) // 2
    finally:
        await conn.close()
