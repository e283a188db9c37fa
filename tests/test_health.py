"""The health endpoint, with the database up, unreachable, and back again."""

from __future__ import annotations

import asyncpg

from api.app import create_app
from dispatch.config import Settings
from dispatch.testdb import database_name
from tests.conftest import serve
from tests.factories import auth_header, create_user


async def test_health_ok(client):
    resp = await client.get("/api/health/")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "database": "ok"}
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
            assert await resp.json() == {"status": "error", "database": "unavailable"}
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
