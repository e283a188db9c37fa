"""`seq` and `?since=` over real WebSockets: replay, then live, with nothing lost or repeated."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from api.app import create_app
from api.keys import BUS, PUBLISHER
from dispatch.assistance import lifecycle
from dispatch.core.db import init_connection
from tests.support.apps import HANDSHAKE, serve
from tests.support.assist import PICKUP, call
from tests.support.factories import create_user, token_of
from tests.support.sockets import next_json


async def emit(conn, topic: str, n: int, skip: int | None = None) -> None:
    await conn.execute(
        "SELECT dispatch.emit_except($1, $2::jsonb, $3)", topic, {"type": "x", "n": n}, skip
    )


async def frames_until(ws, n: int) -> list[dict]:
    """Frames up to and including the event with "n" == n."""
    got = []
    while True:
        frame = await next_json(ws)
        got.append(frame)
        if frame.get("n") == n:
            return got


async def test_reconnecting_with_since_replays_what_was_missed_then_goes_live(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    topic = f"assistant:{a.id}"
    url = f"/ws/assistant/{a.id}/?token={token_of(settings, a)}"
    async with client.ws_connect(url) as ws:
        await next_json(ws)
        await emit(conn, topic, 1)
        first = await next_json(ws)
        assert first["n"] == 1
    # Missed while away: two events of this channel (and one of another, not for us).
    await emit(conn, topic, 2)
    await emit(conn, "assistant:0", 99)
    await emit(conn, topic, 3)
    await client.app[PUBLISHER].publish_pending()
    async with client.ws_connect(f"{url}&since={first['seq']}") as ws:
        assert (await next_json(ws))["type"] == "connection_established"
        replayed = [await next_json(ws), await next_json(ws)]
        assert [f["n"] for f in replayed] == [2, 3]
        assert first["seq"] < replayed[0]["seq"] < replayed[1]["seq"]
        await emit(conn, topic, 4)  # live after the replay, never repeated
        live = await next_json(ws)
        assert live["n"] == 4 and live["seq"] > replayed[1]["seq"]
        await ws.send_str('{"type": "ping"}')
        assert (await next_json(ws))["type"] == "pong"  # and nothing else came in between


async def test_events_during_the_replay_are_neither_lost_nor_repeated(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    topic = f"assistant:{a.id}"
    start = await conn.fetchval("SELECT last_seq FROM dispatch.event_cursor")
    for n in range(1, 201):
        await emit(conn, topic, n)
    await client.app[PUBLISHER].publish_pending()

    async def more() -> None:  # committed and published while the replay is under way
        for n in range(201, 301):
            await emit(conn, topic, n)
            if n % 10 == 0:
                client.app[PUBLISHER].kick()
                await asyncio.sleep(0)
        client.app[PUBLISHER].kick()

    writer = asyncio.create_task(more())
    async with client.ws_connect(
        f"/ws/assistant/{a.id}/?token={token_of(settings, a)}&since={start}"
    ) as ws:
        await next_json(ws)
        got = await frames_until(ws, 300)
    await writer
    assert [f["n"] for f in got] == list(range(1, 301))
    seqs = [f["seq"] for f in got]
    assert seqs == sorted(set(seqs))


async def test_replay_skips_the_senders_own_relays(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    other = await create_user(conn, role="assistant")
    topic = f"assistant:{a.id}"
    start = await conn.fetchval("SELECT last_seq FROM dispatch.event_cursor")
    await emit(conn, topic, 1, skip=a.id)
    await emit(conn, topic, 2, skip=other.id)
    await client.app[PUBLISHER].publish_pending()
    async with client.ws_connect(
        f"/ws/assistant/{a.id}/?token={token_of(settings, a)}&since={start}"
    ) as ws:
        await next_json(ws)
        assert (await next_json(ws))["n"] == 2


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", "%C2%B2", "9" * 19, ""])
async def test_malformed_since_is_refused_before_the_upgrade(rt, settings, since):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    resp = await client.get(
        f"/ws/assistant/{a.id}/?token={token_of(settings, a)}&since={since}", headers=HANDSHAKE
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == "VALIDATION_ERROR" and "since" in body["fields"]


async def test_a_since_older_than_the_retention_is_answered_with_replay_truncated(rt, settings):
    client, conn = rt
    owner = await create_user(conn, role="client")
    near = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.002, lng=PICKUP["lng"]
    )
    status, body = await call(
        client, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201
    job = body["assistance"]["id"]
    start = await conn.fetchval("SELECT last_seq FROM dispatch.event_cursor")
    assert (await call(client, settings, near, "PATCH", f"/api/assistance/accept/{job}/"))[0] == 200
    await client.app[PUBLISHER].publish_pending()
    # Everything published so far is past the retention.
    await conn.execute("UPDATE dispatch.event_log SET created_at = now() - interval '2 days'")
    assert await conn.fetchval("SELECT dispatch.prune_events(interval '1 day')") > 0
    url = f"/ws/assistance/{job}/?token={token_of(settings, owner)}&since={start}"
    async with client.ws_connect(url) as ws:
        await next_json(ws)
        truncated = await next_json(ws)
        assert truncated["type"] == "replay_truncated" and truncated["since"] == start
        assert truncated["oldest_seq"] > start
        current = await next_json(ws)  # started afresh: the current status
        assert current["type"] == "status" and current["status"] == "accepted"


async def test_a_since_from_the_future_does_not_silence_the_channel(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    async with client.ws_connect(
        f"/ws/assistant/{a.id}/?token={token_of(settings, a)}&since=999999999"
    ) as ws:
        await next_json(ws)
        await emit(conn, f"assistant:{a.id}", 1)
        assert (await next_json(ws))["n"] == 1


async def test_with_since_the_job_channel_replays_its_transitions_instead_of_a_snapshot(
    rt, settings
):
    client, conn = rt
    owner = await create_user(conn, role="client")
    near = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.002, lng=PICKUP["lng"]
    )
    status, body = await call(
        client, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201
    job = body["assistance"]["id"]
    url = f"/ws/assistance/{job}/?token={token_of(settings, owner)}"
    async with client.ws_connect(url) as ws:
        await next_json(ws)
        assert (await next_json(ws))["status"] == "requested"  # the snapshot, without seq
        await ws.send_json({"type": "chat", "message": "hello"})
        chat = await next_json(ws)
        assert chat["type"] == "chat" and isinstance(chat["seq"], int)
    assert (await call(client, settings, near, "PATCH", f"/api/assistance/accept/{job}/"))[0] == 200
    for step in ("ongoing", "completed"):
        resp = await call(
            client, settings, near, "PATCH", f"/api/assistance/update/{job}/", {"status": step}
        )
        assert resp[0] == 200
    async with client.ws_connect(f"{url}&since={chat['seq']}") as ws:
        await next_json(ws)
        got = [await next_json(ws) for _ in range(3)]
        assert [(f["type"], f["status"]) for f in got] == [
            ("status", "accepted"),
            ("status", "ongoing"),
            ("status", "completed"),
        ]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.5)


async def test_an_event_older_than_the_status_snapshot_is_not_sent_after_it(settings, throwaway_db):
    """The request's own `status: requested` event is committed but not yet published when its
    client connects: the snapshot already says so, and the stale frame must not follow it."""
    slow = dataclasses.replace(
        settings, realtime=dataclasses.replace(settings.realtime, event_publish_ms=600_000)
    )
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    try:
        async with serve(create_app(slow, db_url=throwaway_db)) as client:
            await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
            owner = await create_user(conn, role="client")
            async with conn.transaction():  # committed, as a process that died before its kick
                made = await lifecycle.request_assistance(
                    conn,
                    client_id=owner.id,
                    pickup=lifecycle.Point(**PICKUP),
                    dropoff=None,
                    service_type="towing",
                    vehicle_type="light",
                    description="",
                )
            job = made.body["assistance"]["id"]
            assert await conn.fetchval("SELECT count(*) FROM dispatch.event_log WHERE seq IS NULL")
            url = f"/ws/assistance/{job}/?token={token_of(settings, owner)}"
            async with client.ws_connect(url) as ws:
                await next_json(ws)
                snapshot = await next_json(ws)
                assert snapshot["status"] == "requested" and "seq" not in snapshot
                await emit(conn, f"assistance:{job}", 1)
                client.app[PUBLISHER].kick()
                assert (await next_json(ws)).get("n") == 1  # not the stale `requested` event
    finally:
        await conn.close()
