"""The assistance endpoints over real HTTP: shapes, roles, codes, the state machine, idempotency."""

from __future__ import annotations

import pytest

from tests.support.assist import DROPOFF, PICKUP, active_assistant, call, job_in_state, offer_to
from tests.support.factories import create_user

REQUEST = "/api/assistance/request/"

ASSISTANCE_KEYS = {
    "id",
    "status",
    "service_type",
    "vehicle_type",
    "description",
    "client",
    "assistant",
    "pickup_lat",
    "pickup_lng",
    "dropoff_lat",
    "dropoff_lng",
    "pickupLocation",
    "dropoffLocation",
    "distance_km",
    "total_price",
    "currency",
    "price_breakdown",
    "searching",
    "offer_round",
    "rating",
    "created_at",
    "updated_at",
    "createdAt",
    "updatedAt",
}


def assert_error(body: dict, code: str) -> None:
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]


async def test_whole_lifecycle_over_http(client, settings, conn):
    owner = await create_user(conn, role="client", name="Amel")
    near = await active_assistant(conn, dlat=0.005, name="Karim")
    far = await active_assistant(conn, dlat=0.02)

    status, body = await call(
        client,
        settings,
        owner,
        "POST",
        REQUEST,
        {"pickup": PICKUP, "dropoff": DROPOFF, "description": "flat tyre"},
    )
    assert status == 201, body
    job = body["assistance"]
    assert ASSISTANCE_KEYS <= set(job)
    assert job["status"] == "requested" and job["assistant"] is None
    assert job["service_type"] == "towing" and job["vehicle_type"] == "light"
    assert job["description"] == "flat tyre"
    assert job["pickupLocation"] == PICKUP and job["dropoffLocation"] == DROPOFF
    assert (job["pickup_lat"], job["pickup_lng"]) == (PICKUP["lat"], PICKUP["lng"])
    assert job["client"] == {
        "id": owner.id,
        "name": "Amel",
        "phone": owner.phone_number,
        "phone_number": owner.phone_number,
    }
    assert job["created_at"].endswith("Z") and job["createdAt"] == job["created_at"]
    # Pricing: towing light is 1500 + 50/km over the geodesic pickup->dropoff distance (~2.5 km).
    assert 2.0 < job["distance_km"] < 3.0
    assert job["currency"] == "DZD"
    labels = [line["label"] for line in job["price_breakdown"]]
    assert labels[0] == "Base fare" and labels[1].startswith("Distance")
    assert job["price_breakdown"][0]["amount"] == 1500
    assert sum(line["amount"] for line in job["price_breakdown"]) == pytest.approx(
        job["total_price"]
    )
    # No other demand nearby and two idle assistants: no surge.
    assert job["total_price"] == pytest.approx(1500 + 50 * job["distance_km"], abs=0.01)
    nearby = body["nearby_assistants"]
    assert [n["assistant_id"] for n in nearby] == [near.id, far.id]
    assert 0.5 < nearby[0]["distance"] < nearby[1]["distance"] < 3

    status, accepted = await call(
        client, settings, near, "PATCH", f"/api/assistance/accept/{job['id']}/"
    )
    assert status == 200, accepted
    assert accepted["status"] == "accepted" and accepted["id"] == job["id"]
    assert accepted["assistant"]["id"] == near.id and accepted["assistant"]["name"] == "Karim"
    assert {"lat", "lng", "phone", "phone_number"} <= set(accepted["assistant"])

    for target in ("ongoing", "completed"):
        status, body = await call(
            client,
            settings,
            near,
            "PATCH",
            f"/api/assistance/update/{job['id']}/",
            {"status": target},
        )
        assert status == 200 and body["status"] == target, body

    status, body = await call(
        client,
        settings,
        owner,
        "POST",
        f"/api/assistance/rate/{job['id']}/",
        {"rating": 5, "comment": "quick"},
    )
    assert status == 200 and body["rating"] == 5, body

    status, body = await call(client, settings, owner, "GET", f"/api/assistance/view/{job['id']}/")
    assert status == 200 and body["message"] == "success"
    assert body["Assistance"]["status"] == "completed" and body["Assistance"]["rating"] == 5

    events = await conn.fetch(
        "SELECT actor_id, actor_role, from_status, to_status FROM dispatch.assistance_events "
        "WHERE assistance_id = $1 ORDER BY id",
        job["id"],
    )
    assert [tuple(e) for e in events] == [
        (owner.id, "client", None, "requested"),
        (near.id, "assistant", "requested", "accepted"),
        (near.id, "assistant", "accepted", "ongoing"),
        (near.id, "assistant", "ongoing", "completed"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "pickup"),
        ({"pickup": {"lat": 36.7}}, "pickup.lng"),
        ({"pickup": {"lat": "36.7", "lng": 3.0}}, "pickup.lat"),
        ({"pickup": {"lat": True, "lng": 3.0}}, "pickup.lat"),
        ({"pickup": {"lat": 91, "lng": 3.0}}, "pickup.lat"),
        ({"pickup": {"lat": 36.7, "lng": -180.5}}, "pickup.lng"),
        ({"pickup": PICKUP, "dropoff": {"lat": 36.7}}, "dropoff.lng"),
        ({"pickup": PICKUP, "service_type": "flying"}, "service_type"),
        ({"pickup": PICKUP, "vehicle_type": "truck"}, "vehicle_type"),
        ({"pickup": PICKUP, "description": 7}, "description"),
        ({"pickup": "here"}, "pickup"),
    ],
)
async def test_request_validation_is_400_with_fields(client, settings, conn, body, field):
    owner = await create_user(conn, role="client")
    status, answer = await call(client, settings, owner, "POST", REQUEST, body)
    assert status == 400
    assert_error(answer, "VALIDATION_ERROR")
    assert field in answer["fields"], answer
    assert await conn.fetchval("SELECT count(*) FROM dispatch.assistance_requests") == 0


async def test_request_accepts_the_input_aliases(client, settings, conn):
    owner = await create_user(conn, role="client")
    repairer = await active_assistant(conn, service_type="repair")
    status, body = await call(
        client,
        settings,
        owner,
        "POST",
        REQUEST,
        {
            "pickup": {"latitude": PICKUP["lat"], "longitude": PICKUP["lng"]},
            "assistance_type": "repair",
        },
    )
    assert status == 201, body
    assert body["assistance"]["service_type"] == "repair"
    assert body["assistance"]["pickupLocation"] == PICKUP
    assert body["assistance"]["dropoffLocation"] is None
    assert body["assistance"]["distance_km"] == 0
    assert [n["assistant_id"] for n in body["nearby_assistants"]] == [repairer.id]


@pytest.mark.parametrize("role", ["assistant", "dispatcher"])
async def test_only_clients_request(client, settings, conn, role):
    user = await create_user(conn, role=role)
    status, body = await call(client, settings, user, "POST", REQUEST, {"pickup": PICKUP})
    assert status == 403
    assert_error(body, "PERMISSION_DENIED")


ROUTES = [
    ("POST", "/api/assistance/request/"),
    ("GET", "/api/assistance/view/"),
    ("GET", "/api/assistance/view/1/"),
    ("PATCH", "/api/assistance/accept/1/"),
    ("PATCH", "/api/assistance/update/1/"),
    ("PATCH", "/api/assistance/update/status/1/"),
    ("POST", "/api/assistance/rate/1/"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("slash", [True, False])
async def test_every_route_needs_a_token(client, settings, method, path, slash):
    status, body = await call(client, settings, None, method, path if slash else path.rstrip("/"))
    assert status == 401
    assert_error(body, "NOT_AUTHENTICATED")


async def test_one_open_request_per_client(client, settings, conn):
    owner = await create_user(conn, role="client")
    status, first = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    assert status == 201
    status, body = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    assert status == 409
    assert_error(body, "OPEN_REQUEST_EXISTS")
    assert body["assistance_id"] == first["assistance"]["id"]
    # Once it is canceled, a new request is fine.
    job_id = first["assistance"]["id"]
    status, _ = await call(
        client,
        settings,
        owner,
        "PATCH",
        f"/api/assistance/update/{job_id}/",
        {"status": "canceled"},
    )
    assert status == 200
    status, _ = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    assert status == 201


async def test_idempotency_key_replays_the_first_answer(client, settings, conn):
    owner = await create_user(conn, role="client")
    await active_assistant(conn)
    headers = {"Idempotency-Key": "req-1"}
    body = {"pickup": PICKUP, "dropoff": DROPOFF}
    resp1 = await client.post(REQUEST, json=body, headers=_auth(settings, owner) | headers)
    resp2 = await client.post(REQUEST, json=body, headers=_auth(settings, owner) | headers)
    assert resp1.status == resp2.status == 201
    first, second = await resp1.json(), await resp2.json()
    assert "Idempotent-Replayed" not in resp1.headers
    assert resp2.headers["Idempotent-Replayed"] == "true"
    assert second == first
    count = await conn.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = $1", owner.id
    )
    assert count == 1
    # The same key with another body is a client bug, not a retry.
    other = {"pickup": PICKUP, "dropoff": PICKUP}
    resp3 = await client.post(REQUEST, json=other, headers=_auth(settings, owner) | headers)
    assert resp3.status == 409
    assert_error(await resp3.json(), "IDEMPOTENCY_KEY_REUSED")
    # Another client may use the same key for its own request.
    someone = await create_user(conn, role="client")
    resp4 = await client.post(REQUEST, json=body, headers=_auth(settings, someone) | headers)
    assert resp4.status == 201
    assert (await resp4.json())["assistance"]["id"] != first["assistance"]["id"]


async def test_blank_idempotency_key_is_400(client, settings, conn):
    owner = await create_user(conn, role="client")
    resp = await client.post(
        REQUEST,
        json={"pickup": PICKUP},
        headers=_auth(settings, owner) | {"Idempotency-Key": "   "},
    )
    assert resp.status == 400
    assert "Idempotency-Key" in (await resp.json())["fields"]


def _auth(settings, user):
    from tests.support.factories import auth_header

    return auth_header(settings, user)


async def test_matching_picks_only_eligible_assistants_nearest_first(client, settings, conn):
    owner = await create_user(conn, role="client")
    second = await active_assistant(conn, dlat=0.010)
    first = await active_assistant(conn, dlat=-0.004)
    await active_assistant(conn, dlat=0.001, is_active=False)
    await active_assistant(conn, dlat=0.001, license_days=-1)
    await active_assistant(conn, dlat=0.001, service_type="repair")
    await active_assistant(conn, dlat=0.2)  # ~22 km: beyond the 10 km default radius
    busy_job = await job_in_state(client, settings, conn, "ongoing")
    status, body = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    assert status == 201
    ids = [n["assistant_id"] for n in body["nearby_assistants"]]
    assert ids == [first.id, second.id], (ids, busy_job)


async def test_repair_callout_then_final_price_by_the_assistant(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing", service_type="repair")
    status, body = await call(
        client, settings, job.client, "GET", f"/api/assistance/view/{job.id}/"
    )
    quote = body["Assistance"]
    assert quote["price_breakdown"] == [{"label": "Callout fee", "amount": 1000}]
    path = f"/api/assistance/update/{job.id}/"
    status, body = await call(
        client, settings, job.assistant, "PATCH", path, {"status": "completed", "total_price": 999}
    )
    assert status == 400
    assert_error(body, "INVALID_VALUE")
    status, body = await call(
        client, settings, job.client, "PATCH", path, {"status": "canceled", "total_price": 5000}
    )
    assert status == 400
    status, body = await call(
        client, settings, job.assistant, "PATCH", path, {"status": "completed", "total_price": 4500}
    )
    assert status == 200, body
    assert body["total_price"] == 4500
    assert body["price_breakdown"] == [
        {"label": "Callout fee", "amount": 1000},
        {"label": "Repair work", "amount": 3500},
    ]


async def test_towing_price_is_not_set_on_completion(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    status, body = await call(
        client,
        settings,
        job.assistant,
        "PATCH",
        f"/api/assistance/update/{job.id}/",
        {"status": "completed", "total_price": 9000},
    )
    assert status == 400
    assert_error(body, "INVALID_VALUE")


@pytest.mark.parametrize(
    ("who", "expected", "code"),
    [
        ("client", 403, "PERMISSION_DENIED"),
        ("dispatcher", 403, "PERMISSION_DENIED"),
        ("inactive", 409, "ASSISTANT_UNAVAILABLE"),
        ("expired", 409, "ASSISTANT_UNAVAILABLE"),
        ("repairer", 409, "NOT_OFFERED"),
        ("stranger", 409, "NOT_OFFERED"),
        ("busy", 409, "ASSISTANT_BUSY"),
        ("second", 409, "ALREADY_ACCEPTED"),
    ],
)
async def test_accept_refusals(client, settings, conn, who, expected, code):
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    job_id = body["assistance"]["id"]
    if who in ("client", "dispatcher"):
        user = await create_user(conn, role=who)
    elif who == "inactive":
        user = await active_assistant(conn, is_active=False)
    elif who == "expired":
        user = await active_assistant(conn, license_days=-1)
    elif who == "repairer":
        user = await active_assistant(conn, service_type="repair")
    elif who == "stranger":  # active, idle, of the right type, but never offered this request
        user = await active_assistant(conn)
    elif who == "busy":
        other = await job_in_state(client, settings, conn, "accepted")
        user = other.assistant
    else:
        winner = await active_assistant(conn)
        user = await active_assistant(conn)
        await offer_to(conn, job_id, winner, user)
        status, _ = await call(
            client, settings, winner, "PATCH", f"/api/assistance/accept/{job_id}/"
        )
        assert status == 200
    status, body = await call(client, settings, user, "PATCH", f"/api/assistance/accept/{job_id}/")
    assert status == expected
    assert_error(body, code)
    if who == "busy":
        assert body["assistance_id"] == other.id


@pytest.mark.parametrize("state", ["completed", "canceled"])
async def test_accepting_a_final_request_is_409(client, settings, conn, state):
    offered = await active_assistant(conn)  # offered in round 1, withdrawn when it was taken
    job = await job_in_state(client, settings, conn, state)
    newcomer = await active_assistant(conn)
    status, body = await call(
        client, settings, offered, "PATCH", f"/api/assistance/accept/{job.id}/"
    )
    assert status == 409
    assert_error(body, "ASSISTANCE_FINAL")
    status, body = await call(
        client, settings, newcomer, "PATCH", f"/api/assistance/accept/{job.id}/"
    )
    assert status == 409
    assert_error(body, "NOT_OFFERED")


@pytest.mark.parametrize("job_id", ["abc", "-1"])
async def test_accepting_a_malformed_id_is_404(client, settings, conn, job_id):
    user = await active_assistant(conn)
    status, body = await call(client, settings, user, "PATCH", f"/api/assistance/accept/{job_id}/")
    assert status == 404
    assert_error(body, "ASSISTANCE_NOT_FOUND")


async def test_accepting_an_unknown_request_answers_like_a_known_one(client, settings, conn):
    """No offer, no door: an unknown id and someone else's request get the same 409."""
    user = await active_assistant(conn)
    status, body = await call(client, settings, user, "PATCH", "/api/assistance/accept/999999999/")
    assert status == 409
    assert_error(body, "NOT_OFFERED")


STATES = ["requested", "accepted", "ongoing", "completed", "canceled"]

# (state, actor, target) -> HTTP status. Actors: the request's client, its assigned assistant,
# another assistant, another client, a dispatcher.
_ASSISTANT_MOVES = {
    ("accepted", "ongoing"),
    ("ongoing", "completed"),
    ("accepted", "canceled"),
    ("ongoing", "canceled"),
}


def expected_status(state: str, actor: str, target: str) -> int:
    if actor == "dispatcher":
        return 403
    if actor in ("other_client", "other_assistant"):
        return 404
    if actor == "assistant" and state == "requested":
        return 404  # nobody is assigned yet: the assistant is not a party
    if actor == "client" and target != "canceled":
        return 403
    if state in ("completed", "canceled"):
        return 409
    if actor == "client":
        return 200
    return 200 if (state, target) in _ASSISTANT_MOVES else 409


@pytest.mark.parametrize("target", STATES)
@pytest.mark.parametrize(
    "actor", ["client", "assistant", "other_assistant", "other_client", "dispatcher"]
)
@pytest.mark.parametrize("state", STATES)
async def test_state_machine(client, settings, conn, state, actor, target):
    job = await job_in_state(client, settings, conn, state)
    if actor == "client":
        user = job.client
    elif actor == "assistant":
        user = job.assistant or await active_assistant(conn)
    elif actor == "other_assistant":
        user = await active_assistant(conn)
    else:
        user = await create_user(conn, role="client" if actor == "other_client" else "dispatcher")
    before = await conn.fetchval(
        "SELECT count(*) FROM dispatch.assistance_events WHERE assistance_id = $1", job.id
    )
    status, body = await call(
        client,
        settings,
        user,
        "PATCH",
        f"/api/assistance/update/status/{job.id}/",
        {"status": target},
    )
    want = expected_status(state, actor, target)
    assert status == want, body
    after = await conn.fetchrow(
        "SELECT count(*) AS n, (SELECT status FROM dispatch.assistance_requests WHERE id = $1) "
        "AS status FROM dispatch.assistance_events WHERE assistance_id = $1",
        job.id,
    )
    if want == 200:
        assert body["status"] == target
        assert after["n"] == before + 1 and after["status"] == target
    else:
        assert after["n"] == before and after["status"] == state
        expected_code = {
            403: ("PERMISSION_DENIED", "TRANSITION_FORBIDDEN"),
            404: ("ASSISTANCE_NOT_FOUND",),
            409: ("ASSISTANCE_FINAL", "INVALID_TRANSITION"),
        }[want]
        assert body["code"] in expected_code


async def test_unknown_status_is_400(client, settings, conn):
    job = await job_in_state(client, settings, conn, "accepted")
    for value in ("flying", "", None, 3):
        status, body = await call(
            client,
            settings,
            job.assistant,
            "PATCH",
            f"/api/assistance/update/{job.id}/",
            {"status": value},
        )
        assert status == 400
        assert "status" in body["fields"]


async def test_rating_rules(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    path = f"/api/assistance/rate/{job.id}/"
    status, body = await call(client, settings, job.client, "POST", path, {"rating": 4})
    assert status == 409
    assert_error(body, "NOT_COMPLETED")
    status, _ = await call(
        client,
        settings,
        job.assistant,
        "PATCH",
        f"/api/assistance/update/{job.id}/",
        {"status": "completed"},
    )
    assert status == 200
    status, body = await call(client, settings, job.assistant, "POST", path, {"rating": 4})
    assert status == 403
    stranger = await create_user(conn, role="client")
    status, body = await call(client, settings, stranger, "POST", path, {"rating": 4})
    assert status == 404
    for bad in (0, 6, 4.5, "5", None):
        status, body = await call(client, settings, job.client, "POST", path, {"rating": bad})
        assert status == 400 and "rating" in body["fields"], bad
    status, body = await call(
        client, settings, job.client, "POST", path, {"rating": 4, "comment": "ok"}
    )
    assert status == 200 and body["rating"] == 4 and body["comment"] == "ok"
    status, body = await call(client, settings, job.client, "POST", path, {"rating": 5})
    assert status == 409
    assert_error(body, "ALREADY_RATED")
    assert (
        await conn.fetchval("SELECT rating FROM dispatch.ratings WHERE assistance_id = $1", job.id)
        == 4
    )


async def test_views_show_only_the_parties_requests(client, settings, conn):
    done = await job_in_state(client, settings, conn, "completed")
    # The same client asks again; the assistant of the first job takes this one too.
    status, body = await call(client, settings, done.client, "POST", REQUEST, {"pickup": PICKUP})
    newer = body["assistance"]["id"]
    status, _ = await call(
        client, settings, done.assistant, "PATCH", f"/api/assistance/accept/{newer}/"
    )
    assert status == 200
    unrelated = await job_in_state(client, settings, conn, "requested")

    status, body = await call(client, settings, done.client, "GET", "/api/assistance/view/")
    assert status == 200 and body["message"] == "success"
    assert [a["id"] for a in body["Assistance"]] == [newer, done.id]
    status, body = await call(client, settings, done.assistant, "GET", "/api/assistance/view")
    assert [a["id"] for a in body["Assistance"]] == [newer, done.id]
    status, body = await call(
        client, settings, done.client, "GET", "/api/assistance/view/?status=completed"
    )
    assert [a["id"] for a in body["Assistance"]] == [done.id]
    status, body = await call(
        client, settings, done.client, "GET", "/api/assistance/view/?limit=1&offset=1"
    )
    assert [a["id"] for a in body["Assistance"]] == [done.id]
    for query in ("limit=0", "limit=abc", "offset=-1", "status=flying"):
        status, body = await call(
            client, settings, done.client, "GET", f"/api/assistance/view/?{query}"
        )
        assert status == 400, query

    status, body = await call(client, settings, unrelated.client, "GET", "/api/assistance/view/")
    assert [a["id"] for a in body["Assistance"]] == [unrelated.id]
    for outsider in (unrelated.client, await active_assistant(conn)):
        status, body = await call(
            client, settings, outsider, "GET", f"/api/assistance/view/{done.id}/"
        )
        assert status == 404
        assert_error(body, "ASSISTANCE_NOT_FOUND")
    dispatcher = await create_user(conn, role="dispatcher")
    status, body = await call(
        client, settings, dispatcher, "GET", f"/api/assistance/view/{done.id}"
    )
    assert status == 200 and body["Assistance"]["id"] == done.id
    status, body = await call(client, settings, dispatcher, "GET", "/api/assistance/view/")
    assert {newer, done.id, unrelated.id} <= {a["id"] for a in body["Assistance"]}
