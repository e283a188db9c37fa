"""positions.matchable stays right when two changes that decide it race (real concurrent commits)."""

from __future__ import annotations

import asyncio

import asyncpg

from dispatch.core.db import init_connection
from tests.support.factories import create_user


async def test_going_active_while_the_job_ends_leaves_the_assistant_matchable(throwaway_db):
    setup = await asyncpg.connect(throwaway_db)
    await init_connection(setup)
    t1 = await asyncpg.connect(throwaway_db)
    t2 = await asyncpg.connect(throwaway_db)
    try:
        client = await create_user(setup, role="client")
        assistant = await create_user(setup, role="assistant", is_active=False, lat=36.75, lng=3.05)
        job = await setup.fetchval(
            """
            INSERT INTO dispatch.assistance_requests (client_id, assistant_id, status, service_type,
                vehicle_type, pickup, pickup_h3_r7, price, total_price, currency)
            VALUES ($1, $2, 'ongoing', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 0,
                    '{}', 0, 'DZD')
            RETURNING id
            """,
            client.id,
            assistant.id,
        )
        # T2 goes active first: it still sees the ongoing job, so it decides "not matchable".
        tx2 = t2.transaction()
        await tx2.start()
        await t2.execute(
            "UPDATE dispatch.assistants SET is_active = true WHERE user_id = $1", assistant.id
        )
        # T1 ends the job meanwhile; its trigger must wait for T2 and decide after it.
        tx1 = t1.transaction()
        await tx1.start()
        ending = asyncio.create_task(
            t1.execute(
                "UPDATE dispatch.assistance_requests SET status = 'completed' WHERE id = $1", job
            )
        )
        await asyncio.sleep(0.3)
        assert not ending.done()  # blocked on the assistant's row
        await tx2.commit()
        await ending
        await tx1.commit()
        matchable = await setup.fetchval(
            "SELECT matchable FROM dispatch.positions WHERE user_id = $1", assistant.id
        )
        assert matchable is True
        nearby = await setup.fetch(
            "SELECT assistant_id FROM dispatch.nearby_assistants(lat => 36.75, lng => 3.05)"
        )
        assert [r["assistant_id"] for r in nearby] == [assistant.id]
    finally:
        for c in (setup, t1, t2):
            await c.close()
