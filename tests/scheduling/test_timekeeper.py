"""The time keeper of a server process: partition maintenance and supply samples run on their own."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import asyncpg

from api.app import create_app
from dispatch.core.config import Settings
from tests.support.apps import serve
from tests.support.factories import create_user


async def test_server_maintains_partitions_and_samples_supply(settings: Settings, throwaway_db):
    fast = dataclasses.replace(
        settings,
        time=dataclasses.replace(
            settings.time, booking_poll_s=0.0, supply_sample_s=0.2, history_maintenance_s=0.2
        ),
    )
    conn = await asyncpg.connect(throwaway_db)
    try:
        await create_user(conn, role="assistant", lat=36.75, lng=3.04, is_active=True)
        day_after = "position_history_p" + await conn.fetchval(
            "SELECT to_char((now() AT TIME ZONE 'UTC')::date + 2, 'YYYYMMDD')"
        )
        await conn.execute(f"DROP TABLE dispatch.{day_after}")
        async with serve(create_app(fast, db_url=throwaway_db)):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                back = await conn.fetchval("SELECT to_regclass('dispatch.' || $1)", day_after)
                sampled = await conn.fetchval(
                    "SELECT coalesce(sum(idle_sum), 0) FROM dispatch.supply_history"
                )
                if back is not None and sampled > 0:
                    break
                await asyncio.sleep(0.1)
        assert back is not None, "the missing partition was created again"
        assert sampled > 0, "idle supply was sampled"
        # The history writer keeps working on the re-created partition's parent.
        assert await conn.fetchval("SELECT count(*) FROM dispatch.position_history") >= 1
    finally:
        await conn.close()
