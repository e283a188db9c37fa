"""A dispatcher's assign racing assistants' accepts over real connections: exactly one wins."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.assist import PICKUP, call
from tests.support.factories import create_user

ACCEPTERS = 8


async def _assistant(conn):
    return await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.004, lng=PICKUP["lng"]
    )


@pytest.mark.parametrize("round_", range(6))
async def test_assign_racing_accepts_exactly_one_wins(live, settings, committed, round_):
    dispatcher = await create_user(committed, role="dispatcher")
    owner = await create_user(committed, role="client")
    accepters = [await _assistant(committed) for _ in range(ACCEPTERS)]
    chosen = await _assistant(committed)
    status, body = await call(
        live, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201
    job_id = body["assistance"]["id"]
    # Whatever the offer rounds sent, every accepter holds an open offer (accepting needs one).
    await committed.execute(
        """
        INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, expires_at)
        SELECT $1, a, 1, 400, now() + interval '5 minutes' FROM unnest($2::bigint[]) a
        ON CONFLICT (assistance_id, assistant_id) DO UPDATE
           SET state = 'open', closed_at = NULL, close_reason = NULL,
               expires_at = EXCLUDED.expires_at
         WHERE dispatch.offers.state = 'open'
        """,
        job_id,
        [a.id for a in accepters],
    )
    assign = call(
        live, settings, dispatcher, "POST", f"/api/dispatch/requests/{job_id}/assign/",
        {"assistant_id": chosen.id, "reason": "race"},
    )  # fmt: skip
    accepts = [
        call(live, settings, a, "PATCH", f"/api/assistance/accept/{job_id}/") for a in accepters
    ]
    # Alternate who starts first so that either side gets to win some rounds.
    racers = [assign, *accepts] if round_ % 2 == 0 else [*accepts, assign]
    results = await asyncio.gather(*racers)
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * ACCEPTERS, results
    winner = next(b["assistant"]["id"] for s, b in results if s == 200)
    row = await committed.fetchrow(
        "SELECT status, assistant_id FROM dispatch.assistance_requests WHERE id = $1", job_id
    )
    assert tuple(row) == ("accepted", winner)
    assert (
        await committed.fetchval(
            "SELECT count(*) FROM dispatch.assistance_events "
            "WHERE assistance_id = $1 AND to_status = 'accepted'",
            job_id,
        )
        == 1
    )
    open_jobs = await committed.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests "
        "WHERE assistant_id = ANY($1::bigint[]) AND status = 'accepted'",
        [chosen.id, *(a.id for a in accepters)],
    )
    assert open_jobs == 1
