"""The assistance channel over real WebSockets, across two app instances on one database."""

from __future__ import annotations

import asyncio

import pytest

from api.keys import BUS
from tests.support.apps import HANDSHAKE
from tests.support.assist import PICKUP, call, setup_job
from tests.support.factories import create_user
from tests.support.load import kill_listeners
from tests.support.sockets import frames_until_closed, next_json, next_of_type, ws_url


@pytest.fixture
def world(two_apps):
    return two_apps


async def test_client_requesting_assistance_workflow(world, settings):
    """Seed workflow 'Client Requesting Assistance', with the request handled by the other instance."""
    a, b, conn = world
    client = await create_user(conn, role="client", name="Amel")
    assistant = await create_user(
        conn,
        role="assistant",
        name="Karim",
        is_active=True,
        lat=PICKUP["lat"] + 0.003,
        lng=PICKUP["lng"],
    )
    async with a.ws_connect(ws_url(settings, f"/ws/assistant/{assistant.id}/", assistant)) as aws:
        assert (await next_json(aws))["type"] == "connection_established"
        status, body = await call(
            b,
            settings,
            client,
            "POST",
            "/api/assistance/request/",
            {"pickup": PICKUP, "description": "flat tyre"},
        )
        assert status == 201
        job_id = body["assistance"]["id"]
        offer = await next_of_type(aws, "new_assistance_request")
        assert offer["assistance_id"] == job_id
        assert offer["pickup_location"] == PICKUP
        assert offer["client"] == {"id": client.id, "name": "Amel"}
        assert offer["description"] == "flat tyre"

        async with b.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as cws:
            assert await next_json(cws) == {
                "type": "connection_established",
                "message": f"Connected to channel_{job_id}",
            }
            first = await next_json(cws)
            assert first["type"] == "status" and first["status"] == "requested"
            assert first["assistant"] is None

            # 'Assistant Accepting Assistance': accept through instance A, hear it on B.
            status, _ = await call(
                a, settings, assistant, "PATCH", f"/api/assistance/accept/{job_id}/"
            )
            assert status == 200
            accepted = await next_of_type(cws, "status")
            assert accepted["status"] == "accepted"
            assert accepted["assistant"]["id"] == assistant.id
            assert accepted["assistant"]["name"] == "Karim"

            async with a.ws_connect(
                ws_url(settings, f"/ws/assistance/{job_id}/", assistant)
            ) as jws:
                await next_json(jws)
                assert (await next_json(jws))["status"] == "accepted"
                # Live tracking: the assistant's position reaches the client, not the sender.
                await jws.send_json(
                    {"type": "location_update", "lat": 36.755, "lng": 3.043, "user_id": client.id}
                )
                loc = await next_of_type(cws, "location")
                assert loc == {
                    "type": "location",
                    "lat": 36.755,
                    "lng": 3.043,
                    "user_id": assistant.id,
                }
                # Chat both ways, stored.
                await cws.send_json({"type": "chat", "message": "  I'm by the red car  "})
                chat = await next_of_type(jws, "chat")
                assert chat["message"] == "I'm by the red car"
                assert chat["sender"] == client.id and chat["sent_at"].endswith("Z")
                for status_value in ("ongoing", "completed"):
                    status, _ = await call(
                        b,
                        settings,
                        assistant,
                        "PATCH",
                        f"/api/assistance/update/{job_id}/",
                        {"status": status_value},
                    )
                    assert status == 200
                    assert (await next_of_type(cws, "status"))["status"] == status_value
                # The job is over: the assistant's socket gets the final status, then 4403.
                got, code = await frames_until_closed(jws)
                assert code == 4403
                assert [f["status"] for f in got if f["type"] == "status"] == [
                    "ongoing",
                    "completed",
                ]
                assert [f for f in got if f["type"] == "location"] == []  # not its own, back
    stored = await conn.fetch(
        "SELECT sender_id, message FROM dispatch.chat_messages WHERE assistance_id = $1", job_id
    )
    assert [(r["sender_id"], r["message"]) for r in stored] == [(client.id, "I'm by the red car")]
    pos = await conn.fetchrow(
        "SELECT ST_Y(geog::geometry) AS lat FROM dispatch.positions WHERE user_id = $1",
        assistant.id,
    )
    assert pos["lat"] == pytest.approx(36.755)


async def test_own_channel_location_is_relayed_to_the_open_job(world, settings):
    a, b, conn = world
    client, assistant, job_id = await setup_job(a, settings, conn)
    assert (await call(a, settings, assistant, "PATCH", f"/api/assistance/accept/{job_id}/"))[
        0
    ] == 200
    async with (
        b.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as cws,
        a.ws_connect(ws_url(settings, f"/ws/assistant/{assistant.id}/", assistant)) as aws,
    ):
        await next_json(aws)
        await aws.send_json({"type": "location", "lat": 36.76, "lng": 3.05})
        loc = await next_of_type(cws, "location")
        assert (loc["lat"], loc["lng"], loc["user_id"]) == (36.76, 3.05, assistant.id)


@pytest.mark.parametrize(
    "who", ["nobody", "bad-token", "other-client", "other-assistant", "unassigned"]
)
async def test_assistance_channel_refusals(world, settings, who):
    a, _, conn = world
    _client, assistant, job_id = await setup_job(a, settings, conn)
    other_client = await create_user(conn, role="client")
    other_assistant = await create_user(conn, role="assistant")
    query = {
        "nobody": "",
        "bad-token": "?token=abc",
        "other-client": ws_url(settings, "", other_client),
        "other-assistant": ws_url(settings, "", other_assistant),
        # The matched-but-not-assigned assistant may not listen in before accepting.
        "unassigned": ws_url(settings, "", assistant),
    }[who]
    resp = await a.get(f"/ws/assistance/{job_id}/{query}", headers=HANDSHAKE)
    assert resp.status == (401 if who in {"nobody", "bad-token"} else 403)
    assert set(await resp.json()) == {"error", "code"}


@pytest.mark.parametrize("bad_id", ["abc", "-1", "99999999999999999999", "1.5"])
async def test_malformed_channel_ids_are_404(world, settings, bad_id):
    a, _, conn = world
    client = await create_user(conn, role="client")
    for kind in ("assistance", "assistant"):
        resp = await a.get(ws_url(settings, f"/ws/{kind}/{bad_id}/", client), headers=HANDSHAKE)
        assert resp.status == 404
        assert (await resp.json())["code"] == "NOT_FOUND"


async def test_unknown_request_channel_is_403(world, settings):
    a, _, conn = world
    client = await create_user(conn, role="client")
    resp = await a.get(ws_url(settings, "/ws/assistance/999999/", client), headers=HANDSHAKE)
    assert resp.status == 403


async def test_bad_frames_keep_the_connection(world, settings):
    a, _, conn = world
    client, _, job_id = await setup_job(a, settings, conn)
    async with a.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as ws:
        await next_json(ws)
        await next_json(ws)
        for bad in [
            '{"type": "chat", "message": ""}',
            '{"type": "chat", "message": 5}',
            '{"type": "chat", "message": "' + "x" * 2001 + '"}',
            '{"type": "location", "lat": 10}',
            "null",
            '{"type": "status"}',
        ]:
            await ws.send_str(bad)
            assert (await next_json(ws))["type"] == "error"
        await ws.send_json({"type": "chat", "message": "still here"})
        assert (await next_of_type(ws, "chat"))["message"] == "still here"


async def test_reconnecting_gets_the_current_status(world, settings):
    a, b, conn = world
    client, assistant, job_id = await setup_job(a, settings, conn)
    async with a.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as ws:
        await next_json(ws)
        assert (await next_json(ws))["status"] == "requested"
    assert (await call(b, settings, assistant, "PATCH", f"/api/assistance/accept/{job_id}/"))[
        0
    ] == 200
    async with a.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as ws:
        await next_json(ws)
        current = await next_json(ws)
        assert current["status"] == "accepted" and current["assistant"]["id"] == assistant.id


async def test_listener_reconnects_after_losing_its_connection(world, settings):
    a, b, conn = world
    client, assistant, job_id = await setup_job(a, settings, conn)
    bus = a.app[BUS]
    async with a.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as ws:
        await next_json(ws)
        await next_json(ws)
        before = (bus.connects, b.app[BUS].connects)
        # Kill both instances' listener connections: they must notice and come back.
        killed = await kill_listeners(conn)
        assert killed == 2
        for _ in range(250):
            if (bus.connects, b.app[BUS].connects) == (before[0] + 1, before[1] + 1):
                break
            await asyncio.sleep(0.02)
        assert (bus.connects, b.app[BUS].connects) == (before[0] + 1, before[1] + 1)
        assert (await call(b, settings, assistant, "PATCH", f"/api/assistance/accept/{job_id}/"))[
            0
        ] == 200
        assert (await next_of_type(ws, "status"))["status"] == "accepted"


async def test_idempotent_retry_notifies_nobody_again(world, settings):
    a, b, conn = world
    client = await create_user(conn, role="client")
    assistant = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.002, lng=PICKUP["lng"]
    )
    key = {"Idempotency-Key": "retry-1"}
    async with a.ws_connect(ws_url(settings, f"/ws/assistant/{assistant.id}/", assistant)) as aws:
        await next_json(aws)
        first = await call(
            b, settings, client, "POST", "/api/assistance/request/", {"pickup": PICKUP}, headers=key
        )
        again = await call(
            a, settings, client, "POST", "/api/assistance/request/", {"pickup": PICKUP}, headers=key
        )
        assert first[0] == again[0] == 201
        assert first[1]["assistance"]["id"] == again[1]["assistance"]["id"]
        offer = await next_json(aws)
        assert offer["type"] == "new_assistance_request"
        # A sentinel published after the retry arrives next: there was no second offer.
        await conn.execute(
            "SELECT dispatch.emit($1, $2::jsonb)", f"assistant:{assistant.id}", {"type": "sentinel"}
        )
        sentinel = await next_json(aws)
        assert sentinel["type"] == "sentinel" and sentinel["seq"] > offer["seq"]


async def test_rest_location_update_is_relayed_to_the_job(world, settings):
    a, b, conn = world
    client, assistant, job_id = await setup_job(a, settings, conn)
    assert (await call(a, settings, assistant, "PATCH", f"/api/assistance/accept/{job_id}/"))[
        0
    ] == 200
    async with b.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", client)) as cws:
        await next_json(cws)
        await next_json(cws)
        status, _ = await call(
            a,
            settings,
            assistant,
            "POST",
            "/api/profile/update-location/",
            {"latitude": 36.77, "longitude": 3.07},
        )
        assert status == 200
        loc = await next_of_type(cws, "location")
        assert (loc["lat"], loc["lng"], loc["user_id"]) == (36.77, 3.07, assistant.id)
