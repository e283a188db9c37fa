"""Helpers for the dispatcher tests: requests brought to a state through a dispatcher's assign
(no offer needed), so they do not depend on which assistants the offer rounds reached."""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatch.core.config import Settings
from tests.support.assist import DROPOFF, PICKUP, Job, active_assistant, call
from tests.support.factories import User, create_user


async def dispatched_job(
    client: Any,
    settings: Settings,
    conn: asyncpg.Connection,
    dispatcher: User,
    state: str,
    *,
    service_type: str = "towing",
) -> Job:
    """A request made over HTTP and brought to `state` (assigned by `dispatcher` past requested)."""
    owner = await create_user(conn, role="client", lat=PICKUP["lat"], lng=PICKUP["lng"])
    status, body = await call(
        client, settings, owner, "POST", "/api/assistance/request/",
        {"pickup": PICKUP, "dropoff": DROPOFF, "service_type": service_type},
    )  # fmt: skip
    assert status == 201, body
    job = Job(id=body["assistance"]["id"], client=owner, assistant=None)
    if state == "requested":
        return job
    job.assistant = await active_assistant(conn, service_type=service_type, dlat=0.03)
    status, body = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/assign/",
        {"assistant_id": job.assistant.id},
    )  # fmt: skip
    assert status == 200, body
    steps = {"accepted": [], "ongoing": ["ongoing"], "completed": ["ongoing", "completed"]}[state]
    for target in steps:
        status, body = await call(
            client, settings, job.assistant, "PATCH", f"/api/assistance/update/{job.id}/",
            {"status": target},
        )  # fmt: skip
        assert status == 200, body
    return job
