"""A multi-host DATABASE_URL without pg_auto_failover: hosts tried one at a time (a silent one
skipped after its own timeout), and a server with no reachable primary answering 503 with
Retry-After and `failing_over` (docs/operations.md, "Failover")."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from dispatch.core.config import Settings
from dispatch.core.db import PrimaryConnector, host_urls, multi_host
from tests.support.apps import serve

NOWHERE = "postgresql://u:p%40w@127.0.0.1:1,127.0.0.1:2/dispatch?target_session_attrs=read-write"


def test_a_multi_host_url_is_split_per_host():
    assert multi_host(NOWHERE)
    assert not multi_host("postgresql://u:p@127.0.0.1:5432/dispatch")
    assert host_urls(NOWHERE) == [
        "postgresql://u:p%40w@127.0.0.1:1/dispatch?target_session_attrs=read-write",
        "postgresql://u:p%40w@127.0.0.1:2/dispatch?target_session_attrs=read-write",
    ]


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A host:port that completes the TCP handshake and then says nothing, as a machine that is
    gone behind a live network path might (the kernel's backlog accepts; nobody reads)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


async def test_a_silent_first_host_costs_its_timeout_once(db_url: str, silent_host: str):
    real = urlsplit(db_url)
    userinfo, _, host = real.netloc.rpartition("@")
    url = real._replace(netloc=f"{userinfo}@{silent_host},{host}").geturl()
    connect = PrimaryConnector(url, per_host=1.0)
    began = time.monotonic()
    conn = await connect()
    first = time.monotonic() - began
    await conn.close()
    began = time.monotonic()
    conn = await connect()  # the host that answered is tried first now
    again = time.monotonic() - began
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
    assert 1.0 <= first < 5.0, first
    assert again < 1.0, again


async def test_no_primary_answers_503_with_retry_after_and_failing_over(settings: Settings):
    app = create_app(settings, db_url=NOWHERE)
    async with serve(app) as client:
        resp = await client.get("/api/health/")
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "2"
        assert (await resp.json())["database"] == "failing_over"
        resp = await client.post(
            "/api/auth/login/email/", json={"email": "a@b.example", "password": "x" * 10}
        )
        assert resp.status == 503, await resp.text()
        assert resp.headers["Retry-After"] == "2"
        body = await resp.json()
        assert body["code"] == "DATABASE_UNAVAILABLE" and set(body) == {"error", "code"}
