"""The dispatchers' feed over real WebSockets: refusals before the upgrade, request/status/offer/
search_exhausted frames, bbox subscriptions, throttled positions, assigned/unassigned frames."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from tests.support.apps import HANDSHAKE
from tests.support.assist import PICKUP, call
from tests.support.factories import create_user, token_of
from tests.support.sockets import next_of_type

FAR = {"lat": 35.6971, "lng": -0.6308}  # Oran, far outside an Algiers bbox
ALGIERS_BBOX = [2.9, 36.6, 3.2, 36.9]


async def nothing_of(ws, kind: str, wait: float = 1.0) -> None:
    with pytest.raises(TimeoutError):
        await next_of_type(ws, kind, timeout=wait)


@pytest.mark.parametrize("who", ["nobody", "garbage", "client", "assistant"])
async def test_refused_before_upgrade(rt, settings, who):
    client, conn = rt
    query = ""
    if who == "garbage":
        query = "?token=not-a-jwt"
    elif who in ("client", "assistant"):
        query = f"?token={token_of(settings, await create_user(conn, role=who))}"
    resp = await client.get(f"/ws/dispatch/{query}", headers=HANDSHAKE)
    assert resp.status == (403 if who in ("client", "assistant") else 401)
    body = await resp.json()
    assert set(body) == {"error", "code"}


async def test_feed_of_requests_offers_and_status(rt, settings):
    client, conn = rt
    dispatcher = await create_user(conn, role="dispatcher")
    owner = await create_user(conn, role="client")
    helper = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.002, lng=PICKUP["lng"]
    )
    async with (
        client.ws_connect(f"/ws/dispatch/?token={token_of(settings, dispatcher)}") as ws,
        client.ws_connect(f"/ws/assistant/{helper.id}/?token={token_of(settings, helper)}") as mine,
    ):
        hello = await next_of_type(ws, "connection_established")
        assert hello["message"] == f"Connected as dispatcher_{dispatcher.id}"
        await next_of_type(mine, "connection_established")
        status, body = await call(
            client, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201
        job_id = body["assistance"]["id"]
        created = await next_of_type(ws, "request_created")
        assert created["assistance_id"] == job_id and created["status"] == "requested"
        assert created["pickup"] == PICKUP and created["client"]["id"] == owner.id

        # Round 1 of the offer rounds reached the helper (the offer rounds announce it).
        offer = await next_of_type(ws, "offer")
        assert (offer["assistance_id"], offer["round"]) == (job_id, 1)
        assert helper.id in offer["assistant_ids"]
        await next_of_type(mine, "new_assistance_request")
        status, body = await call(
            client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job_id}/assign/",
            {"assistant_id": helper.id, "reason": "nearest"},
        )  # fmt: skip
        assert status == 200, body
        closed = await next_of_type(ws, "offer")  # how the helper's offer ended (ops_feed.sql)
        assert (closed["assistant_id"], closed["state"]) == (helper.id, "accepted")
        assert closed["pickup"] == PICKUP
        changed = await next_of_type(ws, "status")
        assert changed["assistance_id"] == job_id and changed["status"] == "accepted"
        assert changed["assistant"]["id"] == helper.id
        assigned = await next_of_type(mine, "assigned")
        assert assigned["assistance_id"] == job_id and assigned["reason"] == "nearest"
        assert assigned["pickup_location"] == PICKUP and assigned["client"]["id"] == owner.id


async def test_search_exhausted_and_reassign_frames(rt, settings):
    client, conn = rt
    dispatcher = await create_user(conn, role="dispatcher")
    owner = await create_user(conn, role="client")
    first, second = [
        await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + d, lng=PICKUP["lng"]
        )
        for d in (0.002, 0.004)
    ]
    status, body = await call(
        client, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    job_id = body["assistance"]["id"]
    async with (
        client.ws_connect(f"/ws/dispatch/?token={token_of(settings, dispatcher)}") as ws,
        client.ws_connect(f"/ws/assistant/{first.id}/?token={token_of(settings, first)}") as old,
    ):
        # One round only, and it is over: the round driver exhausts the search.
        await conn.execute(
            "UPDATE dispatch.settings SET value = '1' WHERE key = 'offer_max_rounds'"
        )
        await conn.execute(
            "UPDATE dispatch.assistance_requests SET round_ends_at = now() - interval '1 s' "
            "WHERE id = $1",
            job_id,
        )
        await conn.fetchval("SELECT dispatch.advance_offer_rounds()")
        exhausted = await next_of_type(ws, "search_exhausted")
        assert exhausted["assistance_id"] == job_id
        for target, reason in ((first, None), (second, "truck broke down")):
            path = "assign" if reason is None else "reassign"
            status, body = await call(
                client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job_id}/{path}/",
                {"assistant_id": target.id, "reason": reason or "first"},
            )  # fmt: skip
            assert status == 200, body
        gone = await next_of_type(old, "unassigned")
        assert isinstance(gone.pop("seq"), int)  # an event like any other: replayable by seq
        assert gone == {"type": "unassigned", "assistance_id": job_id, "reason": "truck broke down"}
        moved = await next_of_type(ws, "status")
        assert moved["assistant"]["id"] == first.id  # the assign first ...
        moved = await next_of_type(ws, "status")
        assert moved["assistant"]["id"] == second.id  # ... then the reassign


async def test_bbox_subscription_narrows_the_feed(rt, settings):
    client, conn = rt
    dispatcher = await create_user(conn, role="dispatcher")
    near, far = await create_user(conn, role="client"), await create_user(conn, role="client")
    async with client.ws_connect(f"/ws/dispatch/?token={token_of(settings, dispatcher)}") as ws:
        await next_of_type(ws, "connection_established")
        await ws.send_json({"type": "subscribe", "bbox": [1, 2, 3]})
        assert "bbox" in (await next_of_type(ws, "error"))["message"]
        await ws.send_json({"type": "subscribe", "bbox": ALGIERS_BBOX})
        assert (await next_of_type(ws, "subscribed"))["bbox"] == ALGIERS_BBOX
        status, oran = await call(
            client, settings, far, "POST", "/api/assistance/request/", {"pickup": FAR}
        )
        assert status == 201
        status, body = await call(
            client, settings, near, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201
        # The Oran request was created first but never arrives: the next one is Algiers'.
        created = await next_of_type(ws, "request_created")
        assert created["assistance_id"] == body["assistance"]["id"]
        await ws.send_json({"type": "subscribe", "bbox": None})
        await next_of_type(ws, "subscribed")
        status, body = await call(
            client, settings, far, "PATCH", f"/api/assistance/update/{oran['assistance']['id']}/",
            {"status": "canceled"},
        )  # fmt: skip
        assert status == 200
        assert (await next_of_type(ws, "status"))["pickup"] == FAR  # everywhere again


async def test_positions_at_most_once_per_second_per_assistant(rt, settings):
    client, conn = rt
    dispatcher = await create_user(conn, role="dispatcher")
    mover = await create_user(conn, role="assistant", is_active=True, lat=36.75, lng=3.04)
    async with client.ws_connect(f"/ws/dispatch/?token={token_of(settings, dispatcher)}") as ws:
        await next_of_type(ws, "connection_established")
        arrivals: list[tuple[float, dict]] = []

        async def collect() -> None:
            async for msg in ws:
                frame = msg.json()
                if frame["type"] == "positions":
                    for item in frame["assistants"]:
                        if item["assistant_id"] == mover.id:
                            arrivals.append((time.monotonic(), item))

        reader = asyncio.create_task(collect())
        # Ten updates a second for three seconds, as a phone might send them.
        for n in range(30):
            status, _ = await call(
                client, settings, mover, "POST", "/api/profile/update-location/",
                {"lat": 36.75 + n / 10000, "lng": 3.04},
            )  # fmt: skip
            assert status == 200
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        reader.cancel()
    assert 2 <= len(arrivals) <= 6, arrivals
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    # Runs are at least a second apart in the database; delivery may bunch them a little.
    assert all(gap > 0.5 for gap in gaps), gaps
    last = arrivals[-1][1]
    assert last["lat"] == pytest.approx(36.75 + 29 / 10000) and last["state"] == "idle"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM dispatch.position_history WHERE user_id = $1", mover.id
        )
        == 31
    )  # the first position and every report are stored; only the feed is throttled


async def test_feed_crosses_processes(two_apps, settings):
    """A dispatcher on one server process hears a request made through another."""
    a, b, conn = two_apps
    dispatcher = await create_user(conn, role="dispatcher")
    owner = await create_user(conn, role="client")
    async with a.ws_connect(f"/ws/dispatch/?token={token_of(settings, dispatcher)}") as ws:
        await next_of_type(ws, "connection_established")
        status, body = await call(
            b, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201
        created = await next_of_type(ws, "request_created")
        assert created["assistance_id"] == body["assistance"]["id"]


async def test_bbox_narrows_positions_to_the_assistants_inside(rt, settings):
    client, conn = rt
    dispatcher = await create_user(conn, role="dispatcher")
    here = await create_user(conn, role="assistant", is_active=True, lat=36.75, lng=3.04)
    there = await create_user(
        conn, role="assistant", is_active=True, lat=FAR["lat"], lng=FAR["lng"]
    )
    async with client.ws_connect(f"/ws/dispatch/?token={token_of(settings, dispatcher)}") as ws:
        await next_of_type(ws, "connection_established")
        await ws.send_json({"type": "subscribe", "bbox": ALGIERS_BBOX})
        await next_of_type(ws, "subscribed")
        for who, place in ((there, FAR), (here, {"lat": 36.751, "lng": 3.041})):
            status, _ = await call(
                client, settings, who, "POST", "/api/profile/update-location/", place
            )
            assert status == 200
        seen: set[int] = set()
        deadline = time.monotonic() + 4
        while here.id not in seen and time.monotonic() < deadline:
            frame = await next_of_type(ws, "positions", timeout=deadline - time.monotonic())
            seen |= {a["assistant_id"] for a in frame["assistants"]}
        assert here.id in seen and there.id not in seen
