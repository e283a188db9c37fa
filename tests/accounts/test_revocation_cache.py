"""The revocation cache across two app instances: hits skip the database, revocations evict at once."""

from __future__ import annotations

import asyncio

import pytest

from api.keys import BUS, REVOCATIONS
from dispatch.accounts.tokens import start_session
from dispatch.events.listener import LISTENER_NAME
from tests.support.factories import create_user


@pytest.fixture
def pair(two_apps):
    return two_apps


async def session(conn, settings):
    user = await create_user(conn, role="client")
    tokens = await start_session(conn, settings.auth, user_id=user.id, role="client")
    return user, tokens


async def status(client, access: str) -> int:
    resp = await client.get("/api/profile/user/", headers={"Authorization": f"Bearer {access}"})
    return resp.status


async def eventually_401(client, access: str) -> None:
    # The revoking transaction has committed; its NOTIFY is on its way to every process.
    for _ in range(250):
        if await status(client, access) == 401:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the revoked token was still accepted")


async def test_valid_sessions_are_served_from_the_cache(pair, settings):
    a, _, conn = pair
    _, tokens = await session(conn, settings)
    cache = a.app[REVOCATIONS]
    assert await status(a, tokens.access) == 200
    before = cache.lookups
    for _ in range(5):
        assert await status(a, tokens.access) == 200
    assert cache.lookups == before


async def test_logout_on_one_process_evicts_on_the_other(pair, settings):
    a, b, conn = pair
    _, tokens = await session(conn, settings)
    assert await status(a, tokens.access) == 200  # now cached on a
    resp = await b.post("/api/auth/logout/", json={"refresh": tokens.refresh})
    assert resp.status == 200
    await eventually_401(a, tokens.access)


async def test_disabling_a_user_from_sql_evicts(pair, settings):
    a, _, conn = pair
    user, tokens = await session(conn, settings)
    assert await status(a, tokens.access) == 200
    await conn.execute("UPDATE dispatch.users SET is_disabled = true WHERE id = $1", user.id)
    await eventually_401(a, tokens.access)


async def test_nothing_is_trusted_while_the_listener_is_down(pair, settings):
    a, _, conn = pair
    _, tokens = await session(conn, settings)
    cache = a.app[REVOCATIONS]
    bus = a.app[BUS]
    assert await status(a, tokens.access) == 200
    connects = bus.connects
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = $1",
        LISTENER_NAME,
    )
    for _ in range(500):
        if not bus.connected.is_set() or bus.connects > connects:
            break
        await asyncio.sleep(0.01)
    before = cache.lookups
    assert await status(a, tokens.access) == 200
    # Either the listener was down (asked the database) or it reconnected (cache emptied).
    assert cache.lookups == before + 1
