"""The assistant channel over real WebSockets: auth before the upgrade, events, frames, slow peers."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.apps import HANDSHAKE
from tests.support.factories import auth_header, create_user, token_of
from tests.support.sockets import next_json


def without_seq(frame: dict) -> dict:
    """An event frame without its `seq` (which every event frame carries)."""
    assert isinstance(frame.get("seq"), int), frame
    return {k: v for k, v in frame.items() if k != "seq"}


async def wait_listening(client) -> None:
    from api.keys import BUS

    await asyncio.wait_for(client.app[BUS].connected.wait(), 5)


async def test_connects_with_query_token_and_header(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    async with client.ws_connect(f"/ws/assistant/{a.id}/?token={token_of(settings, a)}") as ws:
        assert await next_json(ws) == {
            "type": "connection_established",
            "message": f"Connected as assistant_{a.id}",
        }
    async with client.ws_connect(f"/ws/assistant/{a.id}", headers=auth_header(settings, a)) as ws:
        assert (await next_json(ws))["type"] == "connection_established"


@pytest.mark.parametrize("who", ["nobody", "garbage", "other-assistant", "client"])
async def test_refused_before_upgrade(rt, settings, who):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    other = await create_user(conn, role="assistant" if who == "other-assistant" else "client")
    query = {
        "nobody": "",
        "garbage": "?token=not.a.jwt",
        "other-assistant": f"?token={token_of(settings, other)}",
        "client": f"?token={token_of(settings, other)}",
    }[who]
    resp = await client.get(
        f"/ws/assistant/{a.id}/{query}",
        headers=HANDSHAKE,
    )
    expected = 401 if who in {"nobody", "garbage"} else 403
    assert resp.status == expected
    body = await resp.json()
    assert set(body) == {"error", "code"}


async def test_receives_committed_events_only(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    await wait_listening(client)
    async with client.ws_connect(f"/ws/assistant/{a.id}/?token={token_of(settings, a)}") as ws:
        await next_json(ws)
        async with conn.transaction():
            await conn.execute(
                "SELECT dispatch.emit($1, $2::jsonb)", f"assistant:{a.id}", {"type": "x", "n": 1}
            )
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "SELECT dispatch.emit($1, $2::jsonb)", f"assistant:{a.id}", {"type": "x", "n": 2}
        )
        await tx.rollback()
        await conn.execute(
            "SELECT dispatch.emit($1, $2::jsonb)", f"assistant:{a.id}", {"type": "x", "n": 3}
        )
        first, second = await next_json(ws), await next_json(ws)
        assert without_seq(first) == {"type": "x", "n": 1}
        assert without_seq(second) == {"type": "x", "n": 3}  # n=2 was rolled back: no row
        assert second["seq"] == first["seq"] + 1


async def test_large_event_is_delivered_whole(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    await wait_listening(client)
    big = {"type": "big", "text": "x" * 20000}
    async with client.ws_connect(f"/ws/assistant/{a.id}/?token={token_of(settings, a)}") as ws:
        await next_json(ws)
        await conn.execute("SELECT dispatch.emit($1, $2::jsonb)", f"assistant:{a.id}", big)
        assert without_seq(await next_json(ws)) == big


async def test_bad_frames_get_error_and_connection_stays(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    async with client.ws_connect(f"/ws/assistant/{a.id}/?token={token_of(settings, a)}") as ws:
        await next_json(ws)
        for bad in [
            "{oops",
            "[1]",
            '{"type": "dance"}',
            '{"type": "location", "lat": "1", "lng": 2}',
            '{"type": "location", "lat": 91, "lng": 2}',
            '{"type": "chat", "message": "hi"}',
        ]:
            await ws.send_str(bad)
            reply = await next_json(ws)
            assert reply["type"] == "error" and reply["message"]
        await ws.send_bytes(b"\x00")
        assert (await next_json(ws))["type"] == "error"
        await ws.send_str('{"type": "ping"}')
        assert await next_json(ws) == {"type": "pong"}


async def test_location_frames_are_stored_in_batches(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    async with client.ws_connect(f"/ws/assistant/{a.id}/?token={token_of(settings, a)}") as ws:
        await next_json(ws)
        for i in range(5):
            await ws.send_str(
                f'{{"type": "location_update", "latitude": 36.7{i}, "longitude": 3.05}}'
            )
        await ws.send_str('{"type": "location", "lat": 36.8, "lng": 3.06}')
        for _ in range(100):
            row = await conn.fetchrow(
                "SELECT ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lng "
                "FROM dispatch.positions WHERE user_id = $1",
                a.id,
            )
            if row and row["lat"] == pytest.approx(36.8):
                break
            await asyncio.sleep(0.05)
        assert row is not None and (row["lat"], row["lng"]) == (
            pytest.approx(36.8),
            pytest.approx(3.06),
        )
        history = await conn.fetchval(
            "SELECT count(*) FROM dispatch.position_history WHERE user_id = $1", a.id
        )
        # Coalesced per user and kept at most once per DISPATCH_LOCATION_HISTORY_S (1 s): six
        # frames sent at once leave one history row, two if a second passed in between.
        assert 1 <= history <= 2


async def test_emit_many_delivers_them_all_in_order_with_consecutive_seqs(rt, settings):
    client, conn = rt
    a = await create_user(conn, role="assistant")
    await wait_listening(client)
    messages = [{"type": "x", "n": n, "pad": "p" * 600} for n in range(30)]
    async with client.ws_connect(f"/ws/assistant/{a.id}/?token={token_of(settings, a)}") as ws:
        await next_json(ws)
        await conn.execute(
            "SELECT dispatch.emit_many($1::text[], $2::jsonb[])",
            [f"assistant:{a.id}"] * 30,
            messages,
        )
        got = [await next_json(ws) for _ in range(30)]
        assert [without_seq(m) for m in got] == messages
        assert [m["seq"] for m in got] == list(range(got[0]["seq"], got[0]["seq"] + 30))
