"""/metrics: off by default; on, behind its token, with figures summed over two worker processes."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.openapi import document
from dispatch.core.db import init_connection
from tests.support.assist import PICKUP
from tests.support.factories import auth_header, create_user
from tests.support.load import kill_listeners
from tests.support.servers import node

TOKEN = "metrics-test-token"


async def test_metrics_are_off_by_default(client):
    resp = await client.get("/metrics")
    assert resp.status == 404 and (await resp.json())["code"] == "NOT_FOUND"


def test_the_metrics_route_is_described_when_on(settings):
    on = dataclasses.replace(settings, metrics=dataclasses.replace(settings.metrics, enabled=True))
    doc = document(create_app(on, db_url="unused"))
    assert "/metrics/" in doc["paths"]
    assert "/metrics/" not in document(create_app(settings, db_url="unused"))["paths"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def scrape(session: aiohttp.ClientSession, base: str) -> dict:
    async with session.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 200 and r.content_type == "text/plain"
        return samples(await r.text())


async def test_metrics_across_two_workers(settings, throwaway_db):
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    client = await create_user(conn, role="client")
    assistant = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"], lng=PICKUP["lng"]
    )
    env = {
        "DISPATCH_METRICS": "1",
        "DISPATCH_METRICS_TOKEN": TOKEN,
        "DISPATCH_METRICS_PROBE_S": "0.2",
        "DISPATCH_DB_POOL_MAX": "4",
    }
    try:
        with node(throwaway_db, workers=2, env=env) as base:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/metrics") as resp:
                    assert resp.status == 401 and (await resp.json())["code"] == "NOT_AUTHENTICATED"
                async with session.get(
                    f"{base}/metrics", headers={"Authorization": "Bearer wrong"}
                ) as resp:
                    assert resp.status == 401
                for _ in range(20):  # new connections: spread over both workers by the kernel
                    async with aiohttp.ClientSession() as one, one.get(f"{base}/api/health") as r:
                        assert r.status == 200
                async with session.get(f"{base}/no/such/path/") as resp:
                    assert resp.status == 404
                async with session.post(
                    f"{base}/api/assistance/request/",
                    json={"pickup": PICKUP},
                    headers=auth_header(settings, client),
                ) as resp:
                    assert resp.status == 201
                    job = (await resp.json())["assistance"]["id"]
                await conn.execute(
                    """INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m,
                           expires_at, state, closed_at)
                       VALUES ($1, $2, 1, 10, now() + interval '1 minute', 'declined', now())
                       ON CONFLICT (assistance_id, assistant_id) DO UPDATE
                       SET state = 'declined', closed_at = now()""",
                    job,
                    assistant.id,
                )
                token = auth_header(settings, assistant)["Authorization"].split()[1]
                ws = await session.ws_connect(f"{base}/ws/assistant/{assistant.id}/?token={token}")
                await ws.receive_json(timeout=5)
                for lat in (36.75, 36.751, 36.752):  # likely one batch: two coalesced
                    await ws.send_json({"type": "location", "lat": lat, "lng": 3.06})
                await asyncio.sleep(1.0)  # a few probes in each worker
                got = await scrape(session, base)
                health = ("route", "/api/health/")
                ok = (("method", "GET"), health, ("status", "200"))
                assert got[("dispatch_http_requests_total", ok)] >= 20
                assert (
                    got[
                        (
                            "dispatch_http_requests_total",
                            (("method", "GET"), ("route", "unmatched"), ("status", "404")),
                        )
                    ]
                    >= 1
                )
                assert (
                    got[
                        (
                            "dispatch_http_request_duration_seconds_count",
                            (("method", "GET"), health),
                        )
                    ]
                    >= 20
                )
                assert got[("dispatch_websockets_open", (("channel", "assistant"),))] == 1
                # Both live workers report their pool (max 4 each).
                assert got[("dispatch_db_pool_connections", (("state", "max"),))] == 8
                assert got[("dispatch_event_delivery_lag_seconds_count", ())] >= 2
                offers = await conn.fetchrow(
                    "SELECT count(*) AS sent, count(*) FILTER (WHERE state = 'declined') AS declined"
                    " FROM dispatch.offers"
                )
                assert got[("dispatch_offers_sent_total", ())] == offers["sent"] >= 1
                assert got[("dispatch_offers_declined_total", ())] == offers["declined"] == 1
                assert ("dispatch_offers_expired_total", ()) in got
                # The event path: both listeners up, the request's frames numbered, a backlog of
                # at most the probes' latest events (they wait for the publisher's next tick).
                assert got[("dispatch_event_listeners_connected", ())] == 2
                assert got[("dispatch_event_listener_down_seconds", ())] == 0
                assert got[("dispatch_event_listener_connects_total", ())] == 2
                assert got[("dispatch_event_table_reads_total", ())] >= 2  # one after each connect
                assert got[("dispatch_events_published_total", ())] >= 4  # statuses and offer
                assert 0 <= got[("dispatch_event_log_unpublished", ())] <= 4
                # Every location frame in exactly one outcome.
                frames = {
                    o: got.get(("dispatch_location_frames_total", (("outcome", o),)), 0)
                    for o in ("written", "coalesced", "dropped")
                }
                assert frames["written"] >= 1 and frames["dropped"] == 0
                assert frames["written"] + frames["coalesced"] == 3
                await ws.close()
                await asyncio.sleep(0.3)
                got = await scrape(session, base)
                assert got[("dispatch_websockets_open", (("channel", "assistant"),))] == 0

                # Both listeners' connections killed: the reconnections are counted, and the
                # listeners are reported up again.
                killed = await kill_listeners(conn)
                assert killed == 2
                for _ in range(50):
                    await asyncio.sleep(0.2)  # the probe (0.2 s) copies the counts
                    got = await scrape(session, base)
                    if got[("dispatch_event_listener_connects_total", ())] == 4:
                        break
                assert got[("dispatch_event_listener_connects_total", ())] == 4
                assert got[("dispatch_event_listeners_connected", ())] == 2
    finally:
        await conn.close()
