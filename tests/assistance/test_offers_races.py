"""Real commits on a throwaway database: concurrent round drivers, and decline racing the driver."""

from __future__ import annotations

import asyncio

import asyncpg

from dispatch.core import db
from tests.support.assist import PICKUP
from tests.support.factories import create_user

REQUESTS = 30
DRIVERS = 8


async def _world(conn: asyncpg.Connection) -> list[int]:
    """REQUESTS searching requests spread over distinct pickups, 4 assistants near each."""
    await conn.execute(
        "UPDATE dispatch.settings SET value = '2' WHERE key = 'matching_max_results'"
    )
    jobs = []
    for i in range(REQUESTS):
        lat = PICKUP["lat"] + 0.5 * i  # ~55 km apart: round radii never overlap another's
        for k in range(1, 5):
            await create_user(
                conn, role="assistant", is_active=True, lat=lat + 0.001 * k, lng=PICKUP["lng"]
            )
        owner = await create_user(conn, role="client")
        made = await conn.fetchval(
            "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, "
            "pickup_lng => $3, pickup_cell_r7 => 0)",
            owner.id,
            lat,
            PICKUP["lng"],
        )
        jobs.append(made["assistance"]["id"])
    return jobs


async def test_concurrent_drivers_advance_each_due_round_once(throwaway_db):
    conn = await asyncpg.connect(throwaway_db)
    await db.init_connection(conn)
    pool = await asyncpg.create_pool(
        throwaway_db, min_size=DRIVERS, max_size=DRIVERS, init=db.init_connection
    )
    try:
        jobs = await _world(conn)
        await conn.execute(
            "UPDATE dispatch.assistance_requests SET round_ends_at = now() - interval '1 s' "
            "WHERE id = ANY($1::bigint[])",
            jobs,
        )
        # Every driver starts its pass at the same moment, in small batches, several times over.
        gate = asyncio.Event()

        async def driver() -> int:
            await gate.wait()
            total = 0
            for _ in range(5):
                total += await pool.fetchval("SELECT dispatch.advance_offer_rounds(4)")
            return total

        tasks = [asyncio.create_task(driver()) for _ in range(DRIVERS)]
        await asyncio.sleep(0.1)
        gate.set()
        advanced = sum(await asyncio.gather(*tasks))
        assert advanced == REQUESTS
        rows = await conn.fetch(
            "SELECT offer_round, (SELECT count(*) FROM dispatch.offers o "
            "WHERE o.assistance_id = r.id AND o.round = 2) AS round2, "
            "(SELECT count(*) FROM dispatch.offer_rounds x WHERE x.assistance_id = r.id) AS rounds "
            "FROM dispatch.assistance_requests r WHERE r.id = ANY($1::bigint[])",
            jobs,
        )
        assert [tuple(r) for r in rows] == [(2, 2, 2)] * REQUESTS
    finally:
        await pool.close()
        await conn.close()


async def test_last_decline_racing_the_deadline_starts_one_round(throwaway_db):
    """The last decline and a driver pass at the deadline both want to start round 2: one does."""
    conn = await asyncpg.connect(throwaway_db)
    await db.init_connection(conn)
    pool = await asyncpg.create_pool(throwaway_db, min_size=4, max_size=4, init=db.init_connection)
    try:
        jobs = await _world(conn)
        offered = await conn.fetch(
            "SELECT assistance_id, assistant_id FROM dispatch.offers WHERE round = 1 "
            "ORDER BY assistance_id, distance_m"
        )
        by_job: dict[int, list[int]] = {}
        for r in offered:
            by_job.setdefault(r["assistance_id"], []).append(r["assistant_id"])
        for job in jobs:
            await conn.execute("SELECT dispatch.decline_offer($1, $2)", job, by_job[job][0])
        await conn.execute(
            "UPDATE dispatch.assistance_requests SET round_ends_at = now() - interval '1 s'"
        )

        async def decline(job: int) -> None:
            try:
                await pool.execute("SELECT dispatch.decline_offer($1, $2)", job, by_job[job][1])
            except asyncpg.PostgresError as exc:
                # The driver expired the offer first: no open offer left to decline.
                assert exc.sqlstate == "DP017"

        await asyncio.gather(
            *(decline(j) for j in jobs),
            pool.fetchval("SELECT dispatch.advance_offer_rounds(100)"),
            pool.fetchval("SELECT dispatch.advance_offer_rounds(100)"),
        )
        rows = await conn.fetch(
            "SELECT offer_round, (SELECT count(*) FROM dispatch.offers o "
            "WHERE o.assistance_id = r.id AND o.round = 2) AS round2 "
            "FROM dispatch.assistance_requests r"
        )
        assert [tuple(r) for r in rows] == [(2, 2)] * REQUESTS
    finally:
        await pool.close()
        await conn.close()
