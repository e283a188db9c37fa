"""The console's own endpoints over real HTTP: the road network for a box (Monaco graph), the
demand cells, and a dispatcher's chat message, stored and relayed on the job's channel."""

from __future__ import annotations

import asyncpg
import pytest

from api.app import create_app
from dispatch.core.db import init_connection
from tests.roads.conftest import monaco, monaco_template  # noqa: F401 - fixtures
from tests.support.apps import serve
from tests.support.assist import call
from tests.support.dispatching import dispatched_job
from tests.support.factories import create_user, token_of
from tests.support.sockets import next_of_type

ID = 999999999
MONACO = "7.40,43.72,7.44,43.75"
ROUTES = [
    ("GET", f"/api/dispatch/roads/?bbox={MONACO}"),
    ("GET", "/api/dispatch/demand/"),
    ("POST", f"/api/dispatch/requests/{ID}/messages/"),
]


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("role", [None, "client", "assistant"])
async def test_only_dispatchers(client, settings, conn, method, path, role):
    user = None if role is None else await create_user(conn, role=role)
    status, body = await call(client, settings, user, method, path, {"message": "hi"})
    assert status == (401 if role is None else 403), body
    assert set(body) == {"error", "code"}


async def test_roads_of_a_box_simplified_by_zoom(settings, monaco):  # noqa: F811 - the fixture
    conn = await asyncpg.connect(monaco)
    await init_connection(conn)
    try:
        dispatcher = await create_user(conn, role="dispatcher")
        async with serve(create_app(settings, db_url=monaco)) as client:
            status, near = await call(
                client, settings, dispatcher, "GET", f"/api/dispatch/roads/?bbox={MONACO}&zoom=16"
            )
            assert status == 200, near
            _, far = await call(
                client, settings, dispatcher, "GET", f"/api/dispatch/roads/?bbox={MONACO}&zoom=11"
            )
            _, capped = await call(
                client, settings, dispatcher, "GET", f"/api/dispatch/roads/?bbox={MONACO}&limit=10"
            )
            _, elsewhere = await call(
                client, settings, dispatcher, "GET", "/api/dispatch/roads/?bbox=3.0,36.7,3.1,36.8"
            )
    finally:
        await conn.close()
    assert near["type"] == "FeatureCollection" and len(near["features"]) > 1000
    assert near["attribution"] == "© OpenStreetMap contributors" and near["truncated"] is False
    assert {f["geometry"]["type"] for f in near["features"]} == {"LineString"}
    assert 0 < len(far["features"]) < len(near["features"])  # zoomed out: the busier roads
    assert {f["properties"]["highway"] for f in far["features"]} <= {"motorway", "trunk", "primary"}
    assert len(capped["features"]) == 10 and capped["truncated"] is True
    assert elsewhere["features"] == [] and elsewhere["truncated"] is False


@pytest.mark.parametrize(
    "query",
    ["", "?bbox=1,2,3", "?bbox=a,b,c,d", "?bbox=7.44,43.72,7.40,43.75", "?bbox=0,0,5,5",
     f"?bbox={MONACO}&zoom=40", f"?bbox={MONACO}&limit=0"],
)  # fmt: skip
async def test_roads_refuse_a_bad_box(client, settings, conn, query):
    dispatcher = await create_user(conn, role="dispatcher")
    status, body = await call(client, settings, dispatcher, "GET", "/api/dispatch/roads/" + query)
    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR" and body["fields"]


async def test_demand_cells(client, settings, conn):
    dispatcher = await create_user(conn, role="dispatcher")
    status, body = await call(client, settings, dispatcher, "GET", "/api/dispatch/demand/?days=2")
    assert status == 200 and body["type"] == "FeatureCollection"
    status, body = await call(
        client, settings, dispatcher, "GET", "/api/dispatch/demand/?resolution=9"
    )
    assert status == 400 and "resolution" in body["fields"]


async def test_a_dispatcher_writes_in_a_jobs_chat(rt, settings):
    client, conn = rt
    dispatcher = await create_user(conn, role="dispatcher", name="Nora Night")
    job = await dispatched_job(client, settings, conn, dispatcher, "accepted")
    async with client.ws_connect(
        f"/ws/assistance/{job.id}/?token={token_of(settings, job.client)}"
    ) as ws:
        await next_of_type(ws, "connection_established")
        status, body = await call(
            client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/messages/",
            {"message": "  On the way.  "},
        )  # fmt: skip
        assert status == 201, body
        relayed = await next_of_type(ws, "chat")
    assert body["message"] == "On the way." and body["sender_role"] == "dispatcher"
    assert relayed["message"] == "On the way." and relayed["sender"] == dispatcher.id
    assert relayed["sender_name"] == "Nora Night" and relayed["seq"] > 0
    status, page = await call(
        client, settings, job.client, "GET", f"/api/assistance/{job.id}/messages/"
    )
    assert status == 200 and page["results"][0]["message"] == "On the way."
    assert page["results"][0]["sender_role"] == "dispatcher"


@pytest.mark.parametrize("message", ["", "   ", "x" * 2001, 5, None])
async def test_a_dispatchers_message_is_validated(client, settings, conn, message):
    dispatcher = await create_user(conn, role="dispatcher")
    owner = await create_user(conn, role="client")
    status, body = await call(
        client,
        settings,
        owner,
        "POST",
        "/api/assistance/request/",
        {"pickup": {"lat": 36.75, "lng": 3.04}},
    )
    job_id = body["assistance"]["id"]
    status, body = await call(
        client,
        settings,
        dispatcher,
        "POST",
        f"/api/dispatch/requests/{job_id}/messages/",
        {"message": message},
    )
    assert status == 400 and "message" in body["fields"], body


async def test_a_message_to_an_unknown_job_is_404(client, settings, conn):
    dispatcher = await create_user(conn, role="dispatcher")
    status, body = await call(
        client,
        settings,
        dispatcher,
        "POST",
        f"/api/dispatch/requests/{ID}/messages/",
        {"message": "hi"},
    )
    assert status == 404 and body["code"] == "ASSISTANCE_NOT_FOUND"
