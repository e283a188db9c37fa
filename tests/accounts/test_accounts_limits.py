"""Rate limits (429 with Retry-After, per IP and per identifier), the outbox and its senders,
and the create-dispatcher command."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import shlex
import sys

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp import web

from api.app import create_app
from dispatch.accounts import outbox
from dispatch.core.errors import Conflict
from dispatch.runtime.cli import create_dispatcher_url
from tests.support.accounts import CLIENT_000, PASSWORD, assert_error, register, with_accounts
from tests.support.apps import TxPool, serve
from tests.support.servers import node


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


async def test_log_sender_logs_the_text_only_when_development_asks(caplog):
    caplog.set_level(logging.INFO, logger="dispatch.outbox")
    message = outbox.Message(1, "sms", "+213555102030", "Your code", "Your code is 123456.")
    await outbox.LogSender().send(message)
    record = caplog.records[-1]
    assert record.levelno == logging.WARNING
    assert record.fields == {  # type: ignore[attr-defined]
        "outbox_id": 1,
        "channel": "sms",
        "recipient": "+**********30",
    }
    assert "123456" not in caplog.text and "555102030" not in caplog.text
    # DISPATCH_DEV_LOG_CODES=1: the development channel, code included (the recipient masked).
    await outbox.LogSender(include_text=True).send(message)
    record = caplog.records[-1]
    assert record.levelno == logging.INFO
    assert record.fields["body"] == "Your code is 123456."  # type: ignore[attr-defined]
    assert record.fields["recipient"] == "+**********30"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("recipient", "shown"),
    [
        ("+213555102030", "+**********30"),
        ("123456", "****56"),
        ("amel@example.com", "a***@example.com"),
    ],
)
def test_recipients_are_masked_in_logs(recipient, shown):
    assert outbox.mask(recipient) == shown


GATEWAY = """\
import json, sys
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"argv": sys.argv[2:], "stdin": sys.stdin.read()}) + "\\n")
"""


async def test_codes_go_to_the_sms_gateway_and_never_to_the_log(throwaway_db, tmp_path):
    """Issue 23 D7: every SMS (phone number and code) was written to the log at INFO, SMTP or
    not. Against a real server: the SMS goes to DISPATCH_SMS_COMMAND (phone in argv, text on
    stdin, no shell), its code verifies the phone, and the server's log holds neither the code
    nor the phone number; email without SMTP is a warning with the masked address."""
    script, sent, log = tmp_path / "gateway.py", tmp_path / "sent.jsonl", tmp_path / "server.log"
    script.write_text(GATEWAY)
    command = shlex.join([sys.executable, str(script), str(sent)])
    env = {"DISPATCH_SMS_COMMAND": command, "DISPATCH_OUTBOX_INTERVAL": "0.05"}
    with node(throwaway_db, env=env, log=log) as base:
        async with aiohttp.ClientSession(base_url=base) as session:
            await register(session, CLIENT_000)
            for _ in range(200):
                if sent.exists() and sent.read_text():
                    break
                await asyncio.sleep(0.05)
            (sms,) = [orjson.loads(line) for line in sent.read_text().splitlines()]
            assert sms["argv"] == ["+213555102030"]
            code = re.search(r"\b(\d{6})\b", sms["stdin"]).group(1)  # type: ignore[union-attr]
            async with session.post(
                "/api/auth/verify-phone/", json={"phone": "+213555102030", "code": code}
            ) as resp:
                assert resp.status == 200, await resp.text()
            # The email (no SMTP here) was handled too: wait for the drain's warning.
            for _ in range(200):
                if "a***@example.com" in log.read_text():
                    break
                await asyncio.sleep(0.05)
    text = log.read_text()
    assert "a***@example.com" in text and "no email gateway" in text
    for secret in (code, "555102030", "amel@example.com", "code is"):
        assert secret not in text, secret


async def test_sms_webhook_gateway(throwaway_db, settings):
    """DISPATCH_SMS_WEBHOOK_URL: the SMS is POSTed as JSON {to, body, id} with an Idempotency-Key
    and the bearer token; an answer other than 2xx is a failed delivery (retried by the drain)."""
    received: list[tuple[dict, dict]] = []

    async def gateway(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.json()))
        return web.json_response({}, status=202)

    async def refusing(request: web.Request) -> web.Response:
        return web.json_response({}, status=503)

    hook = web.Application()
    hook.router.add_post("/sms", gateway)
    hook.router.add_post("/down", refusing)
    async with serve(hook) as gw:
        fast = with_accounts(
            settings,
            outbox_interval=0.05,
            sms_webhook_url=str(gw.make_url("/sms")),
            sms_webhook_token="gw-secret",
        )
        async with serve(create_app(fast, db_url=throwaway_db)) as c:
            await register(c, CLIENT_000)
            conn = await asyncpg.connect(throwaway_db)
            try:
                for _ in range(200):
                    sms = await conn.fetchrow(
                        "SELECT id, sent_at FROM dispatch.outbox WHERE channel = 'sms'"
                    )
                    if sms["sent_at"] is not None:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await conn.close()
        message = outbox.Message(7, "sms", "+1234567890", "", "Your code is 123456.")
        with pytest.raises(outbox.DeliveryFailed, match="503"):
            await outbox.WebhookSmsSender(str(gw.make_url("/down"))).send(message)
    assert sms["sent_at"] is not None and len(received) == 1
    headers, body = received[0]
    assert body["to"] == "+213555102030" and body["id"] == sms["id"]
    assert re.fullmatch(r".* is \d{6}\. It expires in \d+ minutes\.", body["body"])
    assert headers["Idempotency-Key"] == f"outbox-{sms['id']}"
    assert headers["Authorization"] == "Bearer gw-secret"


async def test_a_failing_sms_command_is_a_failed_delivery(tmp_path):
    message = outbox.Message(7, "sms", "+1234567890", "", "Your code is 123456.")
    with pytest.raises(outbox.DeliveryFailed, match="status 3"):
        await outbox.CommandSmsSender(shlex.join([sys.executable, "-c", "exit(3)"])).send(message)
    slow = outbox.CommandSmsSender(
        shlex.join([sys.executable, "-c", "import time; time.sleep(30)"]), timeout=0.5
    )
    with pytest.raises(outbox.DeliveryFailed, match="timed out"):
        await slow.send(message)


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
