"""Channels follow the job: a socket on /ws/assistance/<id>/ hears and speaks only while its user is
a party (reassigned, finished or canceled: closed with 4403), and positions flow only while the job
is accepted or ongoing. Two app instances play two server processes."""

from __future__ import annotations

import pytest

from tests.support.assist import PICKUP, active_assistant, call, setup_job
from tests.support.factories import create_user
from tests.support.sockets import (
    frames_until_closed,
    frames_within,
    next_json,
    next_of_type,
    ws_url,
)

QUIET = 0.6  # seconds without a frame: ten location flush intervals


@pytest.fixture
def world(two_apps):
    return two_apps


async def accepted_job(a, settings, conn):
    client, assistant, job_id = await setup_job(a, settings, conn)
    status, body = await call(a, settings, assistant, "PATCH", f"/api/assistance/accept/{job_id}/")
    assert status == 200, body
    return client, assistant, job_id


async def open_channel(app, settings, job_id, user):
    ws = await app.ws_connect(ws_url(settings, f"/ws/assistance/{job_id}/", user))
    assert (await next_json(ws))["type"] == "connection_established"
    assert (await next_json(ws))["type"] == "status"
    return ws


async def test_a_reassigned_assistant_is_cut_off_at_once(world, settings):
    """D1: the old assistant's socket (on the other process) closes with 4403 without the status
    frame naming the new assistant, and hears none of the client's chat or positions after."""
    a, b, conn = world
    client, old, job_id = await accepted_job(a, settings, conn)
    new = await active_assistant(conn, dlat=0.004, name="Yacine")
    dispatcher = await create_user(conn, role="dispatcher")
    cws = await open_channel(a, settings, job_id, client)
    xws = await open_channel(b, settings, job_id, old)
    try:
        status, body = await call(
            a, settings, dispatcher, "POST", f"/api/dispatch/requests/{job_id}/reassign/",
            {"assistant_id": new.id, "reason": "closer truck"},
        )  # fmt: skip
        assert status == 200, body
        moved = await next_of_type(cws, "status")
        assert moved["assistant"]["id"] == new.id
        await cws.send_json({"type": "chat", "message": "PRIVATE: my door code is 7781"})
        await cws.send_json({"type": "location", "lat": 36.7531, "lng": 3.0431})
        got, code = await frames_until_closed(xws)
        assert code == 4403
        assert got == []  # not the status (Y's phone), not the chat, not the position
        # Gone for good: a new socket is refused before the upgrade.
        resp = await b.get(ws_url(settings, f"/ws/assistance/{job_id}/", old))
        assert resp.status == 403
        # The new assistant's positions reach the client; the old one's do not.
        async with b.ws_connect(ws_url(settings, f"/ws/assistant/{old.id}/", old)) as own:
            await next_json(own)
            await own.send_json({"type": "location", "lat": 36.70, "lng": 3.00})
            assert [f for f in await frames_within(cws, QUIET) if f["type"] == "location"] == []
        yws = await open_channel(b, settings, job_id, new)
        await yws.send_json({"type": "location", "lat": 36.7535, "lng": 3.0425})
        loc = await next_of_type(cws, "location")
        assert (loc["user_id"], loc["lat"]) == (new.id, 36.7535)
        await yws.close()
    finally:
        await cws.close()
        await xws.close()


async def test_completion_closes_the_assistant_and_stops_positions(world, settings):
    """D6: after completion the assistant gets the final status, then 4403; the client's socket
    stays open and no position flows either way."""
    a, b, conn = world
    client, assistant, job_id = await accepted_job(a, settings, conn)
    cws = await open_channel(a, settings, job_id, client)
    aws = await open_channel(b, settings, job_id, assistant)
    try:
        await aws.send_json({"type": "location", "lat": 36.7540, "lng": 3.0440})
        assert (await next_of_type(cws, "location"))["user_id"] == assistant.id  # flowing before
        for step in ("ongoing", "completed"):
            status, _ = await call(
                b, settings, assistant, "PATCH", f"/api/assistance/update/{job_id}/",
                {"status": step},
            )  # fmt: skip
            assert status == 200
        got, code = await frames_until_closed(aws)
        assert code == 4403
        assert [f["status"] for f in got if f["type"] == "status"] == ["ongoing", "completed"]
        assert (await next_of_type(cws, "status"))["status"] == "ongoing"
        assert (await next_of_type(cws, "status"))["status"] == "completed"
        # Neither way: no relay is made (watched where relays travel), none reaches the client.
        relays: list[str] = []
        await conn.add_listener("dispatch_positions", lambda *args: relays.append(args[-1]))
        await cws.send_json({"type": "location", "lat": 36.7550, "lng": 3.0450})
        async with b.ws_connect(
            ws_url(settings, f"/ws/assistant/{assistant.id}/", assistant)
        ) as own:
            await next_json(own)
            await own.send_json({"type": "location", "lat": 36.7560, "lng": 3.0460})
            assert [f for f in await frames_within(cws, QUIET) if f["type"] == "location"] == []
        assert relays == []
        moved = await conn.fetchval(
            "SELECT count(*) FROM dispatch.positions WHERE user_id = ANY($1::bigint[]) "
            "AND ST_Y(geog::geometry) IN (36.7550, 36.7560)",
            [client.id, assistant.id],
        )
        assert moved == 2  # both frames were stored as their senders' positions
        await cws.send_json({"type": "ping"})
        assert (await next_of_type(cws, "pong")) == {"type": "pong"}  # the client's stays open
        resp = await a.get(ws_url(settings, f"/ws/assistance/{job_id}/", assistant))
        assert resp.status == 403
    finally:
        await cws.close()
        await aws.close()


async def test_cancel_closes_the_assistant_and_refuses_its_chat(world, settings):
    a, b, conn = world
    client, assistant, job_id = await accepted_job(a, settings, conn)
    cws = await open_channel(a, settings, job_id, client)
    aws = await open_channel(b, settings, job_id, assistant)
    try:
        status, _ = await call(
            a,
            settings,
            client,
            "PATCH",
            f"/api/assistance/update/{job_id}/",
            {"status": "canceled"},
        )
        assert status == 200
        got, code = await frames_until_closed(aws)
        assert code == 4403
        assert got[-1]["type"] == "status" and got[-1]["status"] == "canceled"
        assert got[-1]["assistant"].get("lat") is None  # a canceled job reveals no position
        canceled = await next_of_type(cws, "status")
        assert canceled["status"] == "canceled"
        # The client's location over REST relays to nobody now.
        status, _ = await call(
            b,
            settings,
            client,
            "POST",
            "/api/profile/update-location/",
            {"lat": 36.76, "lng": 3.05},
        )
        assert status == 200
        relayed = await conn.fetchval(
            "SELECT count(*) FROM dispatch.event_log, unnest(messages) m "
            "WHERE topics @> ARRAY[$1] AND m::jsonb ->> 'type' = 'location'",
            f"assistance:{job_id}",
        )
        assert relayed == 0
    finally:
        await cws.close()
        await aws.close()


async def test_snapshot_of_a_job_left_meanwhile_closes(world, settings):
    """The upgrade checks the party rule; so does the status read after subscribing."""
    a, _b, conn = world
    _client, assistant, job_id = await accepted_job(a, settings, conn)
    await conn.execute(
        "UPDATE dispatch.assistance_requests SET status = 'canceled' WHERE id = $1", job_id
    )
    resp = await a.get(ws_url(settings, f"/ws/assistance/{job_id}/", assistant))
    assert resp.status == 403


@pytest.mark.parametrize("state", ["requested", "accepted", "ongoing", "completed", "canceled"])
async def test_python_party_rule_is_the_sql_one(conn, state):
    """api/ws/job.channel_party, read off dispatch.status_message, agrees with
    dispatch.channel_party for the client, the assistant and anyone else."""
    from api.ws.job import channel_party

    client = await create_user(conn, role="client")
    assistant = await create_user(conn, role="assistant", lat=PICKUP["lat"], lng=PICKUP["lng"])
    other = await create_user(conn, role="assistant")
    row = await conn.fetchrow(
        "INSERT INTO dispatch.assistance_requests (client_id, assistant_id, status, service_type, "
        "vehicle_type, pickup, pickup_h3_r7, price, total_price, currency) VALUES ($1, $2, $3, "
        "'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 1500, 'DZD') "
        "RETURNING dispatch.status_message(assistance_requests) AS frame, id",
        client.id,
        None if state == "requested" else assistant.id,
        state,
    )
    for user in (client, assistant, other):
        in_sql = await conn.fetchval(
            "SELECT dispatch.channel_party(r, $2) FROM dispatch.assistance_requests r WHERE id = $1",
            row["id"],
            user.id,
        )
        assert channel_party(row["frame"], user.id) is in_sql, (state, user.role)
