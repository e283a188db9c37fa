"""Rate limits (429 with Retry-After, per IP and per identifier), the outbox and its senders,
and the create-dispatcher command."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import asyncpg
import pytest

from api.app import create_app
from dispatch import outbox
from dispatch.cli import create_dispatcher_url
from dispatch.errors import Conflict
from tests.accounts_support import CLIENT_000, PASSWORD, assert_error, register, with_accounts
from tests.conftest import TxPool, serve


@pytest.fixture
async def strict_client(settings, conn):
    strict = with_accounts(settings, rate_limit_per_ip=4, rate_limit_per_identifier=2)
    async with serve(create_app(strict, db_url="unused", pool=TxPool(conn))) as c:
        yield c


async def test_login_is_limited_per_identifier(strict_client):
    body = {"email": "amel@example.com", "password": "wrong password"}
    for _ in range(2):
        assert (await strict_client.post("/api/auth/login/email/", json=body)).status == 401
    resp = await strict_client.post("/api/auth/login/email/", json=body)
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert_error(await resp.json(), "RATE_LIMITED")
    # another identifier from the same IP still gets through (IP limit is 4)
    other = {"email": "other@example.com", "password": "wrong password"}
    assert (await strict_client.post("/api/auth/login/email/", json=other)).status == 401
    # ... until the IP limit is reached
    resp = await strict_client.post("/api/auth/login/email/", json=other)
    assert resp.status == 429


async def test_register_is_limited_per_ip(strict_client, conn):
    for n in range(4):
        body = {"phone": f"+21355500000{n}", "password": PASSWORD}
        await register(strict_client, body)
    resp = await strict_client.post(
        "/api/auth/register/", json={"phone": "+213555000009", "password": PASSWORD}
    )
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert await conn.fetchval("SELECT count(*) FROM dispatch.users") == 4


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/verify-email/", {"email": "amel@example.com", "code": "000000"}),
        ("/api/auth/verify-phone/", {"phone": "+213555102030", "code": "000000"}),
        ("/api/auth/resend-verification/", {"email": "amel@example.com"}),
        ("/api/auth/password-reset/", {"email": "amel@example.com"}),
        ("/api/auth/login/phone/", {"phone": "+213555102030", "password": "x"}),
    ],
)
async def test_code_endpoints_are_limited(strict_client, path, body):
    statuses = [(await strict_client.post(path, json=body)).status for _ in range(3)]
    assert statuses[-1] == 429 and 429 not in statuses[:2]


async def test_limits_hold_across_processes(throwaway_db, settings):
    """Two apps with their own pools (as two server processes would) share the counters."""
    strict = with_accounts(settings, rate_limit_per_ip=0, rate_limit_per_identifier=2)
    body = {"email": "amel@example.com", "password": "wrong password"}
    async with (
        serve(create_app(strict, db_url=throwaway_db)) as a,
        serve(create_app(strict, db_url=throwaway_db)) as b,
    ):
        assert (await a.post("/api/auth/login/email/", json=body)).status == 401
        assert (await b.post("/api/auth/login/email/", json=body)).status == 401
        assert (await a.post("/api/auth/login/email/", json=body)).status == 429


async def test_window_reset_lets_requests_through_again(strict_client, conn):
    body = {"email": "amel@example.com", "password": "wrong password"}
    for _ in range(3):
        await strict_client.post("/api/auth/login/email/", json=body)
    await conn.execute("UPDATE dispatch.rate_limits SET window_start = now() - interval '61s'")
    assert (await strict_client.post("/api/auth/login/email/", json=body)).status == 401


# --- outbox -------------------------------------------------------------------------------


class Capture:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[outbox.Message] = []
        self.fail = fail

    async def send(self, message: outbox.Message) -> None:
        if self.fail:
            raise ConnectionError("smtp down")
        self.sent.append(message)


async def test_drain_sends_once_and_blanks_bodies(client, conn):
    await register(client, CLIENT_000)
    sender = Capture()
    assert await outbox.drain(TxPool(conn), sender) == 2
    assert {m.channel for m in sender.sent} == {"email", "sms"}
    assert all("code is" in m.body for m in sender.sent)
    assert await outbox.drain(TxPool(conn), sender) == 0  # nothing sent twice
    rows = await conn.fetch("SELECT body, sent_at FROM dispatch.outbox")
    assert all(r["body"] == "" and r["sent_at"] is not None for r in rows)


async def test_failed_delivery_is_retried_later(client, conn):
    await register(client, CLIENT_000)
    assert await outbox.drain(TxPool(conn), Capture(fail=True)) == 0
    row = await conn.fetchrow("SELECT attempts, last_error, sent_at FROM dispatch.outbox LIMIT 1")
    assert (row["attempts"], row["last_error"], row["sent_at"]) == (1, "ConnectionError", None)
    await conn.execute("UPDATE dispatch.outbox SET claimed_until = now() - interval '1s'")
    assert await outbox.drain(TxPool(conn), Capture()) == 2


async def test_log_sender_is_the_dev_channel(caplog):
    caplog.set_level(logging.INFO, logger="dispatch.outbox")
    message = outbox.Message(1, "email", "a@b.co", "Your code", "Your code is 123456.")
    await outbox.LogSender().send(message)
    record = caplog.records[-1]
    assert record.fields["body"] == "Your code is 123456."  # type: ignore[attr-defined]


async def test_running_app_drains_the_outbox(throwaway_db, settings):
    fast = with_accounts(settings, outbox_interval=0.05)
    async with serve(create_app(fast, db_url=throwaway_db)) as c:
        await register(c, CLIENT_000)
        conn = await asyncpg.connect(throwaway_db)
        try:
            for _ in range(100):
                pending = await conn.fetchval(
                    "SELECT count(*) FROM dispatch.outbox WHERE sent_at IS NULL"
                )
                if pending == 0:
                    break
                await asyncio.sleep(0.05)
            assert pending == 0
            assert await conn.fetchval("SELECT count(*) FROM dispatch.outbox") == 2
        finally:
            await conn.close()


# --- create-dispatcher --------------------------------------------------------------------


async def test_create_dispatcher(throwaway_db, settings):
    user_id = await create_dispatcher_url(
        throwaway_db,
        email="ops@example.com",
        phone="+213770000001",
        name="Ops",
        password="dispatcher password",
    )
    app_settings = dataclasses.replace(settings)
    async with serve(create_app(app_settings, db_url=throwaway_db)) as c:
        resp = await c.post(
            "/api/auth/login/email/",
            json={"email": "ops@example.com", "password": "dispatcher password"},
        )
        body = await resp.json()
    assert resp.status == 200 and body["user"]["id"] == user_id
    assert body["user"]["user_type"] == "dispatcher"
    with pytest.raises(Conflict):
        await create_dispatcher_url(
            throwaway_db,
            email="ops@example.com",
            phone="+213770000002",
            name="",
            password="dispatcher password",
        )


async def test_dispatcher_cannot_self_register(client):
    resp = await client.post(
        "/api/auth/register/",
        json={"phone": "+213770000003", "password": PASSWORD, "user_type": "dispatcher"},
    )
    assert resp.status == 400 and set((await resp.json())["fields"]) == {"user_type"}
