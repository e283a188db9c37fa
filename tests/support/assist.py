"""Helpers for the assistance tests: HTTP calls as a given user and requests brought to a state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from dispatch.core.config import Settings
from tests.support.factories import User, auth_header, create_user

# Central Algiers; assistants are placed a few hundred metres to a few km from here.
PICKUP = {"lat": 36.7525, "lng": 3.0420}
DROPOFF = {"lat": 36.7700, "lng": 3.0600}


async def call(
    client: Any,
    settings: Settings,
    user: User | None,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, JSON body) of a request made as `user` (anonymous when None)."""
    hdrs = dict(headers or {})
    if user is not None:
        hdrs.update(auth_header(settings, user))
    resp = await client.request(method, path, json=body, headers=hdrs)
    return resp.status, await resp.json()


@dataclass
class Job:
    id: int
    client: User
    assistant: User | None


async def active_assistant(
    conn: asyncpg.Connection, *, service_type: str = "towing", dlat: float = 0.005, **kw: Any
) -> User:
    kw.setdefault("is_active", True)
    return await create_user(
        conn,
        role="assistant",
        service_type=service_type,
        lat=PICKUP["lat"] + dlat,
        lng=PICKUP["lng"],
        **kw,
    )


async def job_in_state(
    client: Any,
    settings: Settings,
    conn: asyncpg.Connection,
    state: str,
    *,
    service_type: str = "towing",
) -> Job:
    """A request brought over HTTP to `state` (canceled: by its client after being accepted).
    Its assistant is placed next to the pickup before the request, so round 1 offers it the job."""
    owner = await create_user(conn, role="client", lat=PICKUP["lat"], lng=PICKUP["lng"])
    taker = None
    if state != "requested":
        taker = await active_assistant(conn, service_type=service_type, dlat=0.0002)
    status, body = await call(
        client,
        settings,
        owner,
        "POST",
        "/api/assistance/request/",
        {"pickup": PICKUP, "dropoff": DROPOFF, "service_type": service_type},
    )
    assert status == 201, body
    job = Job(id=body["assistance"]["id"], client=owner, assistant=taker)
    if taker is None:
        return job
    assert taker.id in [n["assistant_id"] for n in body["nearby_assistants"]], body
    steps = {
        "accepted": [],
        "ongoing": [(taker, "ongoing")],
        "completed": [(taker, "ongoing"), (taker, "completed")],
        "canceled": [(owner, "canceled")],
    }[state]
    status, body = await call(client, settings, taker, "PATCH", f"/api/assistance/accept/{job.id}/")
    assert status == 200, body
    for actor, target in steps:
        status, body = await call(
            client,
            settings,
            actor,
            "PATCH",
            f"/api/assistance/update/{job.id}/",
            {"status": target},
        )
        assert status == 200, body
    assert body["status"] == state
    return job


async def offer_to(conn: asyncpg.Connection, job_id: int, *assistants: User) -> None:
    """Let assistants who became eligible after the request was made join its current round, as
    the round driver's arrival check does (made due at once instead of waiting for it)."""
    await conn.execute(
        "UPDATE dispatch.assistance_requests SET arrivals_checked_at = now() - interval '1 hour' "
        "WHERE id = $1",
        job_id,
    )
    await conn.fetchval("SELECT dispatch.advance_offer_rounds()")
    offered = await conn.fetchval(
        "SELECT array_agg(assistant_id) FROM dispatch.offers "
        "WHERE assistance_id = $1 AND state = 'open'",
        job_id,
    )
    assert {a.id for a in assistants} <= set(offered or []), offered


async def setup_job(a: Any, settings: Settings, conn: asyncpg.Connection) -> tuple[User, User, int]:
    """A client and an active assistant next to the pickup, and the client's request (its id)."""
    client = await create_user(conn, role="client", name="Amel")
    assistant = await create_user(
        conn,
        role="assistant",
        name="Karim",
        is_active=True,
        lat=PICKUP["lat"] + 0.003,
        lng=PICKUP["lng"],
    )
    status, body = await call(
        a,
        settings,
        client,
        "POST",
        "/api/assistance/request/",
        {"pickup": PICKUP, "description": "flat tyre"},
    )
    assert status == 201, body
    return client, assistant, body["assistance"]["id"]
