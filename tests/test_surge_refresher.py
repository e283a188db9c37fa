"""Each server process keeps the surge supply snapshot fresh in the background."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg

from api.app import create_app
from tests.conftest import serve
from tests.factories import create_user


async def test_running_app_refreshes_the_supply_snapshot(settings, throwaway_db):
    fast = dataclasses.replace(
        settings, dispatch=dataclasses.replace(settings.dispatch, surge_refresh_s=0.2)
    )
    conn = await asyncpg.connect(throwaway_db)
    try:
        assistant = await create_user(conn, role="assistant", is_active=True, lat=36.75, lng=3.05)
        cell = await conn.fetchval(
            "SELECT h3_r7 FROM dispatch.positions WHERE user_id = $1", assistant.id
        )
        async with serve(create_app(fast, db_url=throwaway_db)):
            for _ in range(100):
                idle = await conn.fetchval(
                    "SELECT idle_assistants FROM dispatch.cell_supply WHERE h3_r7 = $1", cell
                )
                if idle == 1:
                    break
                await asyncio.sleep(0.05)
            assert idle == 1
            # An assistant going offline disappears from the next snapshot.
            await conn.execute(
                "UPDATE dispatch.assistants SET is_active = false WHERE user_id = $1", assistant.id
            )
            for _ in range(100):
                idle = await conn.fetchval(
                    "SELECT idle_assistants FROM dispatch.cell_supply WHERE h3_r7 = $1", cell
                )
                if idle is None:
                    break
                await asyncio.sleep(0.05)
            assert idle is None
    finally:
        await conn.close()
