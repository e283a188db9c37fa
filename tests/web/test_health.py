"""The health endpoint, with the database up, unreachable, and back again."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg

from api.app import create_app
from dispatch.core.config import Settings
from dispatch.runtime.testdb import database_name
from tests.support.apps import serve
from tests.support.factories import auth_header, create_user


async def test_health_ok(client):
    resp = await client.get("/api/health/")
    assert resp.status == 200
    # An app on a test transaction has no listener of its own.
    assert await resp.json() == {"status": "ok", "database": "ok", "listener": {"state": "off"}}
    resp = await client.get("/api/health")
    assert resp.status == 200


async def test_health_reports_database_outage_and_recovery(settings: Settings, throwaway_db: str):
    name = database_name(throwaway_db)
    setup = await asyncpg.connect(throwaway_db)
    user = await create_user(setup, role="client")
    await setup.close()
    async with serve(create_app(settings, db_url=throwaway_db)) as client:
        assert (await client.get("/api/health/")).status == 200
        assert (
            await client.get("/api/profile/user/", headers=auth_header(settings, user))
        ).status == 200
        admin = await asyncpg.connect(throwaway_db.rsplit("/", 1)[0] + "/postgres")
        try:
            # Stop the database for this app: refuse new connections and kill the open ones.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            resp = await client.get("/api/health/")
            assert resp.status == 503
            body = await resp.json()
            assert (body["status"], body["database"]) == ("error", "unavailable")
            # Any request needing the database gets a retryable 503, not a 500.
            for _ in range(3):
                resp = await client.get("/api/profile/user/", headers=auth_header(settings, user))
                assert resp.status == 503
                assert (await resp.json())["code"] == "DATABASE_UNAVAILABLE"
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert (await client.get("/api/health/")).status == 200
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()


async def test_server_starts_while_database_is_unreachable(settings: Settings):
    # Nothing listens on port 1: the app still starts and reports the outage.
    url = "postgresql://nobody:x@127.0.0.1:1/none"
    async with serve(create_app(settings, db_url=url)) as client:
        resp = await client.get("/api/health/")
        assert resp.status == 503
        assert (await resp.json())["database"] == "unavailable"


async def test_health_reports_the_listener_and_503_when_down_too_long(
    settings: Settings, throwaway_db: str
):
    """The listener cut off while the database still serves the pool: reported at once, 503 once
    it has been down longer than DISPATCH_LISTENER_DOWN_503_S, 200 again when it is back."""
    from api.keys import BUS
    from dispatch.events.listener import LISTENER_NAME

    name = database_name(throwaway_db)
    quick = dataclasses.replace(
        settings, realtime=dataclasses.replace(settings.realtime, listener_down_503_s=0.5)
    )
    async with serve(create_app(quick, db_url=throwaway_db)) as client:
        await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
        body = await (await client.get("/api/health/")).json()
        assert body["status"] == "ok" and body["listener"]["state"] == "up"
        admin = await asyncpg.connect(throwaway_db.rsplit("/", 1)[0] + "/postgres")
        try:
            # New connections refused, the pool's open one kept: only the listener is cut off.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name = $2",
                name,
                LISTENER_NAME,
            )
            states = []
            for _ in range(100):
                resp = await client.get("/api/health/")
                body = await resp.json()
                states.append((resp.status, body["listener"]["state"]))
                if resp.status == 503:
                    break
                await asyncio.sleep(0.05)
            assert resp.status == 503, states
            assert body["database"] == "ok" and body["listener"]["state"] == "down"
            assert body["listener"]["down_s"] > 0.5
            assert (200, "down") in states  # down, but not yet for long enough to be unhealthy
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            for _ in range(100):
                resp = await client.get("/api/health/")
                if resp.status == 200:
                    break
                await asyncio.sleep(0.05)
            assert resp.status == 200
            assert (await resp.json())["listener"]["state"] == "up"
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
