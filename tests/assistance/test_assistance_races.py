"""Real commits on a throwaway database: accept races over a real pool, and the emit seam."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dispatch.assistance import lifecycle
from dispatch.core import db
from tests.support.assist import PICKUP, call
from tests.support.factories import create_user

RACERS = 25


async def _assistant(conn, **kw):
    return await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.003, lng=PICKUP["lng"], **kw
    )


async def test_many_assistants_accept_one_request_exactly_one_wins(live, settings, committed):
    owner = await create_user(committed, role="client")
    racers = [await _assistant(committed) for _ in range(RACERS)]
    # Every racer holds an offer: round 1 reaches all of them.
    await committed.execute(
        "UPDATE dispatch.settings SET value = to_jsonb($1::int) WHERE key = 'matching_max_results'",
        RACERS,
    )
    status, body = await call(
        live, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201
    job_id = body["assistance"]["id"]

    results = await asyncio.gather(
        *(call(live, settings, a, "PATCH", f"/api/assistance/accept/{job_id}/") for a in racers)
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (RACERS - 1)
    assert {b["code"] for s, b in results if s == 409} == {"ALREADY_ACCEPTED"}
    winner = next(b["assistant"]["id"] for s, b in results if s == 200)
    row = await committed.fetchrow(
        "SELECT status, assistant_id FROM dispatch.assistance_requests WHERE id = $1", job_id
    )
    assert tuple(row) == ("accepted", winner)
    accepted_events = await committed.fetchval(
        "SELECT count(*) FROM dispatch.assistance_events "
        "WHERE assistance_id = $1 AND to_status = 'accepted'",
        job_id,
    )
    assert accepted_events == 1


@pytest.mark.parametrize("round_", range(5))
async def test_one_assistant_racing_for_two_requests_gets_one(live, settings, committed, round_):
    racer = await _assistant(committed)
    job_ids = []
    for _ in range(2):
        owner = await create_user(committed, role="client")
        status, body = await call(
            live, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201
        job_ids.append(body["assistance"]["id"])
    results = await asyncio.gather(
        *(call(live, settings, racer, "PATCH", f"/api/assistance/accept/{i}/") for i in job_ids)
    )
    assert sorted(status for status, _ in results) == [200, 409]
    assert {b["code"] for s, b in results if s == 409} == {"ASSISTANT_BUSY"}
    open_jobs = await committed.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests "
        "WHERE assistant_id = $1 AND status IN ('accepted', 'ongoing')",
        racer.id,
    )
    assert open_jobs == 1


async def logged_events(conn) -> list[dict]:
    """Every event row written so far, in the order written (what the publisher will number)."""
    rows = await conn.fetch(
        "SELECT topic, message FROM dispatch.events ORDER BY batch_id, position"
    )
    return [{"topic": r["topic"], "message": r["message"]} for r in rows]


async def test_emit_fires_on_commit_and_never_on_rollback(throwaway_db, committed):
    owner = await create_user(committed, role="client", name="Amel")
    near = await _assistant(committed)
    far = await _assistant(committed)
    pool = await asyncpg.create_pool(throwaway_db, min_size=1, max_size=2, init=db.init_connection)
    try:
        # A request that is rolled back announces nothing ...
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await lifecycle.request_assistance(
                conn,
                client_id=owner.id,
                pickup=lifecycle.Point(**PICKUP),
                dropoff=None,
                service_type="towing",
                vehicle_type="light",
                description="rolled back",
            )
            await tx.rollback()
        # ... a committed one reaches every matched assistant and the request's channel.
        async with db.transaction(pool) as conn:
            made = await lifecycle.request_assistance(
                conn,
                client_id=owner.id,
                pickup=lifecycle.Point(**PICKUP),
                dropoff=None,
                service_type="towing",
                vehicle_type="light",
                description="committed",
            )
        job_id = made.body["assistance"]["id"]
        async with db.transaction(pool) as conn:
            await lifecycle.accept(conn, assistance_id=job_id, assistant_id=near.id)
        await committed.execute("SELECT dispatch.emit('sentinel', '{}')")

        got = await logged_events(committed)
        assert got[-1]["topic"] == "sentinel"
        assert all(e["message"].get("description") != "rolled back" for e in got)
        # The dispatchers' feed of transitions and closed offers (test_ws_dispatch.py) aside.
        got = [e for e in got if e["topic"] != "dispatch" or "assistant_ids" in e["message"]]
        by_topic = [(e["topic"], e["message"]) for e in got[:-1]]
        topics = [t for t, _ in by_topic]
        assert sorted(topics[:4]) == sorted(
            [f"assistance:{job_id}", f"assistant:{near.id}", f"assistant:{far.id}", "dispatch"]
        )
        # The accept withdraws the other offer, then announces the new status.
        assert topics[4:] == [f"assistant:{far.id}", f"assistance:{job_id}"]
        assert by_topic[4][1] == {
            "type": "offer_withdrawn",
            "assistance_id": job_id,
            "reason": "accepted",
        }
        offer = dict(by_topic)[f"assistant:{near.id}"]
        assert offer["type"] == "new_assistance_request"
        assert offer["assistance_id"] == job_id
        assert offer["service_type"] == offer["assistance_type"] == "towing"
        assert offer["pickup_location"] == PICKUP and offer["dropoff_location"] is None
        assert offer["client"] == {"id": owner.id, "name": "Amel"}
        assert offer["description"] == "committed"
        status = by_topic[5][1]
        assert status["type"] == "status" and status["status"] == "accepted"
        assert status["assistant"]["id"] == near.id and status["client"]["id"] == owner.id
        assert {"name", "phone_number", "lat", "lng"} <= set(status["assistant"])
    finally:
        await pool.close()
