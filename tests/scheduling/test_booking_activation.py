"""Due bookings become exactly one assistance request each: concurrent activators on real
connections, two server apps racing, a restart in between, and the client told on its channel."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import asyncpg
import orjson

from api.app import create_app
from dispatch.core import db
from dispatch.core.config import Settings
from tests.support.apps import serve
from tests.support.assist import PICKUP
from tests.support.factories import auth_header, create_user

FAST = {"booking_poll_s": 0.1, "supply_sample_s": 0.0, "history_maintenance_s": 0.0}


async def _connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await db.init_connection(conn)
    return conn


async def _book(conn: asyncpg.Connection, client_id: int, minutes: int = 20) -> int:
    booking_id: int = await conn.fetchval(
        """
        SELECT (dispatch.create_booking(client_id => $1, pickup_lat => $2, pickup_lng => $3,
                    pickup_cell_r7 => 1, neighbour_cells_r7 => '{}',
                    scheduled_for => now() + make_interval(mins => $4)) ->> 'id')::bigint
        """,
        client_id,
        PICKUP["lat"],
        PICKUP["lng"],
        minutes,
    )
    return booking_id


async def _make_due(conn: asyncpg.Connection) -> None:
    # A lead time of an hour makes every booking made 20 minutes ahead due now.
    await conn.execute(
        "UPDATE dispatch.settings SET value = '3600' WHERE key = 'booking_lead_time_s'"
    )


async def _requests_per_booking(conn: asyncpg.Connection) -> dict[int, int]:
    rows = await conn.fetch(
        """
        SELECT b.id, count(r.id) AS n FROM dispatch.bookings b
        LEFT JOIN dispatch.assistance_requests r
               ON r.client_id = b.client_id AND r.idempotency_key = 'booking:' || b.id
        GROUP BY b.id
        """
    )
    return {r["id"]: r["n"] for r in rows}


async def test_concurrent_activators_take_disjoint_bookings(throwaway_db):
    setup = await _connect(throwaway_db)
    a = await _connect(throwaway_db)
    b = await _connect(throwaway_db)
    try:
        clients = [await create_user(setup, role="client") for _ in range(12)]
        for c in clients:
            await _book(setup, c.id)
        await _make_due(setup)

        # A holds every due booking in an open transaction: B skips them all without waiting.
        tx = a.transaction()
        await tx.start()
        assert await a.fetchval("SELECT dispatch.activate_due_bookings(max_bookings => 100)") == 12
        started = time.monotonic()
        assert await b.fetchval("SELECT dispatch.activate_due_bookings(max_bookings => 100)") == 0
        assert time.monotonic() - started < 2
        await tx.commit()
        # After A's commit the bookings are converted: B finds nothing to do.
        assert await b.fetchval("SELECT dispatch.activate_due_bookings(max_bookings => 100)") == 0
        assert set((await _requests_per_booking(setup)).values()) == {1}

        # Both draining a second batch one booking per transaction, interleaved.
        more = [await create_user(setup, role="client") for _ in range(20)]
        for c in more:
            await _book(setup, c.id)

        async def drain(conn: asyncpg.Connection) -> int:
            total = 0
            while True:
                async with conn.transaction():
                    n = await conn.fetchval(
                        "SELECT dispatch.activate_due_bookings(max_bookings => 1)"
                    )
                    await asyncio.sleep(0.005)  # hold the lock a moment: let the other run
                if n == 0:
                    return total
                total += n

        done_a, done_b = await asyncio.gather(drain(a), drain(b))
        assert done_a + done_b == 20 and done_a > 0 and done_b > 0
        counts = await _requests_per_booking(setup)
        assert len(counts) == 32 and set(counts.values()) == {1}
        assert (
            await setup.fetchval(
                "SELECT count(*) FROM dispatch.bookings WHERE status = 'converted'"
            )
            == 32
        )
    finally:
        for conn in (setup, a, b):
            await conn.close()


async def _wait_until(
    conn: asyncpg.Connection, query: str, expected: Any, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = await conn.fetchval(query)
        if value == expected or time.monotonic() > deadline:
            assert value == expected
            return
        await asyncio.sleep(0.1)


async def test_two_servers_and_a_restart_convert_each_booking_once(
    settings: Settings, throwaway_db
):
    fast = dataclasses.replace(settings, time=dataclasses.replace(settings.time, **FAST))
    setup = await _connect(throwaway_db)
    try:
        clients = [await create_user(setup, role="client") for _ in range(15)]
        for c in clients:
            await _book(setup, c.id)
        # A client with an open request: its due booking fails, and it is told so.
        busy = await create_user(setup, role="client")
        await setup.fetchval(
            "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => 36.75, "
            "pickup_lng => 3.04, pickup_cell_r7 => 1)",
            busy.id,
        )
        busy_booking = await _book(setup, busy.id)

        async with (
            serve(create_app(fast, db_url=throwaway_db)) as one,
            serve(create_app(fast, db_url=throwaway_db)) as two,
        ):
            watcher = clients[0]
            ws_ok = await one.ws_connect(
                f"/ws/client/{watcher.id}/", headers=auth_header(fast, watcher)
            )
            ws_busy = await two.ws_connect(
                f"/ws/client/{busy.id}/", headers=auth_header(fast, busy)
            )
            for ws in (ws_ok, ws_busy):
                greeting = await ws.receive_json(timeout=5)
                assert greeting["type"] == "connection_established"
            await asyncio.sleep(0.3)  # both listeners are subscribed before anything is due
            await _make_due(setup)
            await _wait_until(
                setup, "SELECT count(*) FROM dispatch.bookings WHERE status = 'scheduled'", 0
            )
            activated = await ws_ok.receive_json(timeout=10)
            assert activated["type"] == "booking_activated"
            assert activated["assistance"]["id"] == activated["assistance_id"]
            failed = await ws_busy.receive_json(timeout=10)
            assert failed["type"] == "booking_failed" and failed["booking_id"] == busy_booking
            assert failed["code"] == "OPEN_REQUEST_EXISTS" and failed["assistance_id"] is not None
            await ws_ok.close()
            await ws_busy.close()

        counts = await _requests_per_booking(setup)
        assert counts.pop(busy_booking) == 0
        assert len(counts) == 15 and set(counts.values()) == {1}

        # While no server runs, more bookings fall due; after the restart each is converted once
        # and the ones converted before are left alone.
        later = [await create_user(setup, role="client") for _ in range(10)]
        for c in later:
            await _book(setup, c.id)
        async with (
            serve(create_app(fast, db_url=throwaway_db)),
            serve(create_app(fast, db_url=throwaway_db)),
        ):
            await _wait_until(
                setup, "SELECT count(*) FROM dispatch.bookings WHERE status = 'scheduled'", 0
            )
            await asyncio.sleep(0.5)  # a few more rounds of both activators
        counts = await _requests_per_booking(setup)
        assert counts.pop(busy_booking) == 0
        assert len(counts) == 25 and set(counts.values()) == {1}
        statuses = await setup.fetch("SELECT status, count(*) FROM dispatch.bookings GROUP BY 1")
        assert {r["status"]: r["count"] for r in statuses} == {"converted": 25, "failed": 1}
    finally:
        await setup.close()


async def test_client_channel_is_the_clients_own(client, settings, conn):
    owner = await create_user(conn, role="client")
    other = await create_user(conn, role="client")
    for user, expected in ((other, 403), (None, 401)):
        headers = auth_header(settings, user) if user else {}
        resp = await client.get(
            f"/ws/client/{owner.id}/",
            headers={
                **headers,
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        )
        assert resp.status == expected
        assert "code" in orjson.loads(await resp.read())
