"""The dispatcher API over real HTTP: the role matrix, the queue's filters, one request's timeline,
assign / reassign / cancel with their conflicts, and the fleet with each assistant's state."""

from __future__ import annotations

import pytest

from api.schemas.assistance import Assistance
from api.schemas.operations import DispatchAssistance, DispatchRequests, FleetAssistants
from tests.support.assist import PICKUP, active_assistant, call
from tests.support.dispatching import dispatched_job
from tests.support.factories import create_user

ID = 999999999
ROUTES = [
    ("GET", "/api/dispatch/requests/"),
    ("GET", f"/api/dispatch/requests/{ID}/"),
    ("POST", f"/api/dispatch/requests/{ID}/assign/"),
    ("POST", f"/api/dispatch/requests/{ID}/reassign/"),
    ("POST", f"/api/dispatch/requests/{ID}/cancel/"),
    ("GET", "/api/dispatch/assistants/"),
]


@pytest.fixture
async def dispatcher(conn):
    return await create_user(conn, role="dispatcher")


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("slash", [True, False])
@pytest.mark.parametrize("role", [None, "client", "assistant"])
async def test_only_dispatchers(client, settings, conn, method, path, slash, role):
    user = None if role is None else await create_user(conn, role=role)
    status, body = await call(client, settings, user, method, path if slash else path.rstrip("/"))
    assert status == (401 if role is None else 403), body
    assert set(body) == {"error", "code"}
    assert body["code"] == ("NOT_AUTHENTICATED" if role is None else "PERMISSION_DENIED")


@pytest.mark.parametrize("method,path", ROUTES[1:5])
async def test_unknown_request_is_404(client, settings, dispatcher, method, path):
    body = {"assistant_id": 1, "reason": "test"}
    status, answer = await call(client, settings, dispatcher, method, path, body)
    assert status == 404, answer
    assert answer["code"] in {"ASSISTANCE_NOT_FOUND", "ASSISTANT_NOT_FOUND"}


@pytest.mark.parametrize(
    "query,field",
    [
        ("status=lost", "status"),
        ("status=requested,bogus", "status"),
        ("searching=maybe", "searching"),
        ("since=yesterday", "since"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=3,2,1,4", "bbox"),
        ("bbox=0,95,1,96", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
    ],
)
async def test_requests_query_validated(client, settings, dispatcher, query, field):
    status, body = await call(
        client, settings, dispatcher, "GET", f"/api/dispatch/requests/?{query}"
    )
    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR"
    assert field in body["fields"]


async def test_requests_filters(client, settings, conn, dispatcher):
    waiting = await dispatched_job(client, settings, conn, dispatcher, "requested")
    taken = await dispatched_job(client, settings, conn, dispatcher, "accepted")
    far_owner = await create_user(conn, role="client")
    status, far = await call(
        client, settings, far_owner, "POST", "/api/assistance/request/",
        {"pickup": {"lat": 35.7, "lng": -0.6}},
    )  # fmt: skip
    assert status == 201

    async def ids(query: str) -> tuple[int, list[int]]:
        status, body = await call(
            client, settings, dispatcher, "GET", f"/api/dispatch/requests/?{query}"
        )
        assert status == 200, body
        DispatchRequests.model_validate(body)
        return body["count"], [r["id"] for r in body["results"]]

    count, everything = await ids("limit=200")
    assert everything[:3] == [far["assistance"]["id"], taken.id, waiting.id]  # newest first
    assert count >= 3
    _, requested = await ids("status=requested")
    assert waiting.id in requested and taken.id not in requested
    _, either = await ids("status=requested,accepted")
    assert {waiting.id, taken.id} <= set(either)
    algiers = "bbox=2.9,36.6,3.2,36.9"
    _, inside = await ids(algiers)
    assert waiting.id in inside and far["assistance"]["id"] not in inside
    count, page = await ids(f"{algiers}&limit=1&offset=1")
    assert len(page) == 1 and page[0] == inside[1] and count == len(inside)
    _, later = await ids("since=2100-01-01T00:00:00Z")
    assert later == []
    _, searching = await ids("searching=true")
    assert waiting.id in searching and taken.id not in searching  # round 1 runs; assigned: over
    _, not_searching = await ids("searching=false")
    assert waiting.id not in not_searching and taken.id in not_searching
    status, body = await call(client, settings, dispatcher, "GET", "/api/dispatch/requests/")
    first = body["results"][0]
    assert {"searching", "offer_round", "pickupLocation", "client"} <= set(first)


async def test_assign_then_detail_shows_offers_and_timeline(client, settings, conn, dispatcher):
    job = await dispatched_job(client, settings, conn, dispatcher, "requested")
    helper = await active_assistant(conn)
    status, body = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/assign/",
        {"assistant_id": helper.id, "reason": "closest truck"},
    )  # fmt: skip
    assert status == 200, body
    assert body["status"] == "accepted" and body["assistant"]["id"] == helper.id
    assert body["searching"] is False
    Assistance.model_validate(body)

    status, detail = await call(
        client, settings, dispatcher, "GET", f"/api/dispatch/requests/{job.id}/"
    )
    assert status == 200
    DispatchAssistance.model_validate(detail)  # the documented answer
    assert detail["id"] == job.id and detail["offers"] == []
    assert [
        (e["from_status"], e["to_status"], e["actor_role"], e["reason"]) for e in detail["events"]
    ] == [
        (None, "requested", "client", None),
        ("requested", "accepted", "dispatcher", "closest truck"),
    ]
    assert detail["events"][1]["actor_id"] == dispatcher.id
    assert detail["events"][1]["at"].endswith("Z")

    # The request is taken now: a second assign is a conflict, and so is an accept.
    other = await active_assistant(conn)
    status, body = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/assign/",
        {"assistant_id": other.id},
    )  # fmt: skip
    assert (status, body["code"]) == (409, "ALREADY_ACCEPTED")
    status, body = await call(client, settings, other, "PATCH", f"/api/assistance/accept/{job.id}/")
    assert status == 409


async def test_assign_closes_open_offers(client, settings, conn, dispatcher):
    job = await dispatched_job(client, settings, conn, dispatcher, "requested")
    offered, chosen = await active_assistant(conn), await active_assistant(conn, dlat=0.01)
    await conn.execute(
        """
        INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, expires_at)
        VALUES ($1, $2, 1, 500, now() + interval '20 s'), ($1, $3, 1, 1100, now() + interval '20 s')
        """,
        job.id,
        offered.id,
        chosen.id,
    )
    status, body = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/assign/",
        {"assistant_id": chosen.id},
    )  # fmt: skip
    assert status == 200, body
    status, detail = await call(
        client, settings, dispatcher, "GET", f"/api/dispatch/requests/{job.id}/"
    )
    states = {o["assistant_id"]: (o["state"], o["round"], o["distance"]) for o in detail["offers"]}
    assert states == {offered.id: ("withdrawn", 1, 0.5), chosen.id: ("accepted", 1, 1.1)}


@pytest.mark.parametrize(
    "problem,code,status",
    [
        ("inactive", "ASSISTANT_UNAVAILABLE", 409),
        ("expired-licence", "ASSISTANT_UNAVAILABLE", 409),
        ("other-service", "ASSISTANT_UNAVAILABLE", 409),
        ("busy", "ASSISTANT_BUSY", 409),
        ("not-an-assistant", "ASSISTANT_NOT_FOUND", 404),
    ],
)
async def test_assign_refuses_unavailable_assistants(
    client, settings, conn, dispatcher, problem, code, status
):
    job = await dispatched_job(client, settings, conn, dispatcher, "requested")
    if problem == "busy":
        target = (await dispatched_job(client, settings, conn, dispatcher, "accepted")).assistant
    elif problem == "not-an-assistant":
        target = await create_user(conn, role="client")
    else:
        target = await active_assistant(
            conn,
            is_active=problem != "inactive",
            license_days=-1 if problem == "expired-licence" else 365,
            service_type="repair" if problem == "other-service" else "towing",
        )
    got, body = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/assign/",
        {"assistant_id": target.id},
    )  # fmt: skip
    assert (got, body["code"]) == (status, code), body
    row = await conn.fetchrow(
        "SELECT status, assistant_id FROM dispatch.assistance_requests WHERE id = $1", job.id
    )
    assert tuple(row) == ("requested", None)  # nothing half-written


@pytest.mark.parametrize(
    "body",
    [{}, {"assistant_id": "7"}, {"assistant_id": 0}, {"assistant_id": 1, "reason": 5},
     {"assistant_id": 1, "reason": "x" * 501}],
)  # fmt: skip
async def test_assign_body_validated(client, settings, conn, dispatcher, body):
    job = await dispatched_job(client, settings, conn, dispatcher, "requested")
    status, answer = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/assign/", body
    )
    assert status == 400 and answer["code"] == "VALIDATION_ERROR" and answer["fields"]


async def test_reassign(client, settings, conn, dispatcher):
    job = await dispatched_job(client, settings, conn, dispatcher, "accepted")
    spare = await active_assistant(conn, dlat=0.02)
    path = f"/api/dispatch/requests/{job.id}/reassign/"
    status, body = await call(
        client, settings, dispatcher, "POST", path, {"assistant_id": spare.id}
    )
    assert status == 400 and "reason" in body["fields"]
    status, body = await call(
        client, settings, dispatcher, "POST", path, {"assistant_id": spare.id, "reason": "   "}
    )
    assert status == 400 and "reason" in body["fields"]
    status, body = await call(
        client,
        settings,
        dispatcher,
        "POST",
        path,
        {"assistant_id": spare.id, "reason": "breakdown"},
    )
    assert status == 200, body
    assert body["status"] == "accepted" and body["assistant"]["id"] == spare.id
    status, body = await call(
        client, settings, dispatcher, "POST", path, {"assistant_id": spare.id, "reason": "again"}
    )
    assert (status, body["code"]) == (409, "ALREADY_ASSIGNED")
    # The previous assistant is free again and no longer a party.
    assert job.assistant is not None
    status, _ = await call(
        client, settings, job.assistant, "GET", f"/api/assistance/view/{job.id}/"
    )
    assert status == 404
    status, detail = await call(
        client, settings, dispatcher, "GET", f"/api/dispatch/requests/{job.id}/"
    )
    assert detail["events"][-1]["from_status"] == "accepted"
    assert detail["events"][-1]["to_status"] == "accepted"
    assert detail["events"][-1]["reason"] == "breakdown"


@pytest.mark.parametrize("state,code", [("requested", "INVALID_TRANSITION"),
                                        ("ongoing", "INVALID_TRANSITION"),
                                        ("completed", "ASSISTANCE_FINAL")])  # fmt: skip
async def test_reassign_only_accepted(client, settings, conn, dispatcher, state, code):
    job = await dispatched_job(client, settings, conn, dispatcher, state)
    spare = await active_assistant(conn, dlat=0.02)
    status, body = await call(
        client, settings, dispatcher, "POST", f"/api/dispatch/requests/{job.id}/reassign/",
        {"assistant_id": spare.id, "reason": "test"},
    )  # fmt: skip
    assert (status, body["code"]) == (409, code)


@pytest.mark.parametrize("state", ["requested", "accepted", "ongoing"])
async def test_cancel(client, settings, conn, dispatcher, state):
    job = await dispatched_job(client, settings, conn, dispatcher, state)
    path = f"/api/dispatch/requests/{job.id}/cancel/"
    status, body = await call(client, settings, dispatcher, "POST", path, {})
    assert status == 400 and "reason" in body["fields"]
    status, body = await call(client, settings, dispatcher, "POST", path, {"reason": "duplicate"})
    assert status == 200, body
    assert body["status"] == "canceled" and body["searching"] is False
    status, body = await call(client, settings, dispatcher, "POST", path, {"reason": "again"})
    assert (status, body["code"]) == (409, "ASSISTANCE_FINAL")
    event = await conn.fetchrow(
        "SELECT actor_id, actor_role, from_status, reason FROM dispatch.assistance_events "
        "WHERE assistance_id = $1 ORDER BY id DESC LIMIT 1",
        job.id,
    )
    assert tuple(event) == (dispatcher.id, "dispatcher", state, "duplicate")


async def test_assistants_with_state(client, settings, conn, dispatcher):
    idle = await create_user(conn, role="assistant", is_active=True, lat=35.7, lng=-0.6)
    offline = await create_user(conn, role="assistant", lat=PICKUP["lat"], lng=PICKUP["lng"])
    busy = (await dispatched_job(client, settings, conn, dispatcher, "accepted")).assistant
    offered = await active_assistant(conn, service_type="repair")
    # Round 1 of a repair request near it offers it the job.
    await dispatched_job(client, settings, conn, dispatcher, "requested", service_type="repair")
    assert busy is not None
    status, body = await call(
        client, settings, dispatcher, "GET", "/api/dispatch/assistants/?limit=1000"
    )
    assert status == 200
    FleetAssistants.model_validate(body)
    by_id = {a["id"]: a for a in body["results"]}
    assert by_id[idle.id]["state"] == "idle"
    assert by_id[offline.id]["state"] == "offline" and by_id[offline.id]["is_active"] is False
    assert by_id[busy.id]["state"] == "busy"
    assert by_id[busy.id]["open_assistance_id"] is not None
    assert by_id[offered.id]["state"] == "offered"
    assert set(by_id[idle.id]) == {
        "id", "name", "service_type", "vehicle_type", "is_active", "lat", "lng", "state",
        "last_seen", "open_assistance_id",
    }  # fmt: skip
    for state, who in [("idle", idle), ("busy", busy), ("offered", offered), ("offline", offline)]:
        status, body = await call(
            client,
            settings,
            dispatcher,
            "GET",
            f"/api/dispatch/assistants/?state={state}&limit=1000",
        )
        assert who.id in {a["id"] for a in body["results"]}
        assert {a["state"] for a in body["results"]} == {state}
    status, body = await call(
        client,
        settings,
        dispatcher,
        "GET",
        "/api/dispatch/assistants/?service_type=repair&limit=1000",
    )
    assert {a["service_type"] for a in body["results"]} == {"repair"}
    status, body = await call(
        client, settings, dispatcher, "GET", "/api/dispatch/assistants/?bbox=-10,-10,-9,-9"
    )
    assert body == {"count": 0, "results": []}
    status, body = await call(
        client, settings, dispatcher, "GET", "/api/dispatch/assistants/?state=asleep"
    )
    assert status == 400 and "state" in body["fields"]
