"""Profiles, positions, duty status and the nearby-assistants list over real HTTP."""

from __future__ import annotations

import pytest

from tests.support.accounts import assert_error
from tests.support.factories import auth_header, create_user

ALGIERS = (36.7538, 3.0588)


async def test_user_profile_flat_and_nested(client, settings, conn):
    user = await create_user(conn, role="client", name="Amel", lat=36.75, lng=3.04)
    resp = await client.get("/api/profile/user/", headers=auth_header(settings, user))
    assert resp.status == 200
    body = await resp.json()
    assert body["id"] == user.id and body["name"] == "Amel"
    assert body["phone"] == body["phone_number"] == user.phone_number
    assert (body["current_lat"], body["current_lng"]) == (36.75, 3.04)
    assert body["user"]["name"] == "Amel" and body["user"]["id"] == user.id
    assert "password_hash" not in body and "service_type" not in body


async def test_user_profile_without_position(client, settings, conn):
    user = await create_user(conn)
    body = await (await client.get("/api/profile/user", headers=auth_header(settings, user))).json()
    assert body["current_lat"] is None and body["current_lng"] is None


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_user_profile_seed_001_body(client, settings, conn, method):
    user = await create_user(conn)
    body = {"name": "  Updated Name ", "email": "Updated@Example.com", "phone": "+1987654321"}
    resp = await client.request(
        method, "/api/profile/user/", json=body, headers=auth_header(settings, user)
    )
    assert resp.status == 200
    out = await resp.json()
    assert out["name"] == "Updated Name" and out["user"]["name"] == "Updated Name"
    assert out["email"] == "updated@example.com" and out["phone"] == "+1987654321"
    assert out["email_verified"] is False
    # the new contacts get codes
    recipients = {r["recipient"] for r in await conn.fetch("SELECT recipient FROM dispatch.outbox")}
    assert recipients == {"updated@example.com", "+1987654321"}


async def test_patch_only_touches_given_fields(client, settings, conn):
    user = await create_user(conn, name="Keep")
    resp = await client.patch(
        "/api/profile/user/", json={"address": "Oran"}, headers=auth_header(settings, user)
    )
    out = await resp.json()
    assert out["name"] == "Keep" and out["address"] == "Oran" and out["email"] == user.email


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": None}, {"name"}),
        ({"email": "nope"}, {"email"}),
        ({"phone": 123}, {"phone"}),
        ({"name": "x" * 200}, {"name"}),
    ],
)
async def test_update_user_profile_invalid(client, settings, conn, body, fields):
    user = await create_user(conn, name="Before")
    resp = await client.patch("/api/profile/user/", json=body, headers=auth_header(settings, user))
    assert resp.status == 400
    assert set((await resp.json())["fields"]) == fields
    assert await conn.fetchval("SELECT name FROM dispatch.users WHERE id = $1", user.id) == "Before"


async def test_update_user_profile_duplicate_email_is_409(client, settings, conn):
    user = await create_user(conn)
    other = await create_user(conn)
    resp = await client.patch(
        "/api/profile/user/", json={"email": other.email}, headers=auth_header(settings, user)
    )
    assert resp.status == 409
    assert_error(await resp.json(), "EMAIL_TAKEN")


async def test_assistant_profile(client, settings, conn):
    user = await create_user(conn, role="assistant", lat=36.7, lng=3.0)
    resp = await client.get("/api/profile/assistant/", headers=auth_header(settings, user))
    assert resp.status == 200
    body = await resp.json()
    assert body["is_active_assistant"] is False and body["assistant"]["id"] == user.id
    for key in (
        "service_type",
        "vehicle_type",
        "driving_license_cat",
        "driving_license_num",
        "driving_license_expiry",
        "vehicle_registration_num",
        "current_lat",
    ):
        assert key in body


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_assistant_profile(client, settings, conn, method):
    user = await create_user(conn, role="assistant")
    body = {
        "name": "Updated Assistant Name",
        "vehicle_type": "heavy",
        "assistance_type": "repair",
        "driving_license_cat": "B",
        "driving_license_expiry": "01:06:35",
        "vehicle_registration_num": "778899",
    }
    resp = await client.request(
        method, "/api/profile/assistant/", json=body, headers=auth_header(settings, user)
    )
    assert resp.status == 200
    out = await resp.json()
    assert out["assistant"]["name"] == "Updated Assistant Name"
    assert (out["vehicle_type"], out["service_type"]) == ("heavy", "repair")
    assert out["driving_license_cat"] == "b" and out["driving_license_expiry"] == "2035-06-01"
    assert out["vehicle_registration_num"] == 778899


async def test_update_assistant_profile_expired_licence_is_400(client, settings, conn):
    user = await create_user(conn, role="assistant")
    resp = await client.patch(
        "/api/profile/assistant/",
        json={"driving_license_expiry": "2001-01-01"},
        headers=auth_header(settings, user),
    )
    assert resp.status == 400
    assert set((await resp.json())["fields"]) == {"driving_license_expiry"}


@pytest.mark.parametrize(
    "body",
    [
        {"lat": 36.76, "lng": 3.05},
        {"latitude": 36.76, "longitude": 3.05},
        {"current_lat": 36.76, "current_lng": 3.05},
        {"currentLat": 36.76, "currentLng": 3.05},
    ],
)
async def test_update_location(client, settings, conn, body):
    user = await create_user(conn)
    resp = await client.post(
        "/api/profile/update-location/", json=body, headers=auth_header(settings, user)
    )
    assert resp.status == 200
    out = await resp.json()
    assert (out["lat"], out["lng"]) == (36.76, 3.05)
    assert (out["latitude"], out["longitude"]) == (36.76, 3.05)
    row = await conn.fetchrow(
        "SELECT h3_r7, h3_r8, h3_r9 FROM dispatch.positions WHERE user_id = $1", user.id
    )
    assert all(row.values())
    # a second update changes the one row in place and appends to the history
    await client.post(
        "/api/profile/update-location/",
        json={"lat": 36.77, "lng": 3.06},
        headers=auth_header(settings, user),
    )
    assert (
        await conn.fetchval("SELECT count(*) FROM dispatch.positions WHERE user_id = $1", user.id)
        == 1
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM dispatch.position_history WHERE user_id = $1", user.id
        )
        == 2
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"lat": 91, "lng": 3}, {"lat"}),
        ({"lat": 36, "lng": -180.5}, {"lng"}),
        ({"lat": "36.7", "lng": 3}, {"lat"}),
        ({"lat": True, "lng": 3}, {"lat"}),
        ({"lat": None, "lng": None}, {"lat", "lng"}),
        ({}, {"lat", "lng"}),
    ],
)
async def test_update_location_invalid(client, settings, conn, body, fields):
    user = await create_user(conn)
    resp = await client.post(
        "/api/profile/update-location/", json=body, headers=auth_header(settings, user)
    )
    assert resp.status == 400
    payload = await resp.json()
    assert_error(payload, "VALIDATION_ERROR")
    assert set(payload["fields"]) == fields
    assert await conn.fetchval("SELECT count(*) FROM dispatch.positions") == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/profile/assistant-status/"), ("PUT", "/api/profile/update-status/")],
)
async def test_assistant_goes_active_and_back(client, settings, conn, method, path):
    user = await create_user(conn, role="assistant", lat=36.7, lng=3.0)
    headers = auth_header(settings, user)
    resp = await client.request(method, path, json={"is_active": True}, headers=headers)
    assert resp.status == 200
    assert (await resp.json())["is_active"] is True
    profile = await (await client.get("/api/profile/assistant/", headers=headers)).json()
    assert profile["is_active_assistant"] is True
    resp = await client.request(method, path, json={"is_active": False}, headers=headers)
    assert (await resp.json()) == {"is_active": False, "is_active_assistant": False}


async def test_going_active_needs_a_position(client, settings, conn):
    user = await create_user(conn, role="assistant")
    resp = await client.post(
        "/api/profile/assistant-status/",
        json={"is_active": True},
        headers=auth_header(settings, user),
    )
    assert resp.status == 409
    assert_error(await resp.json(), "POSITION_REQUIRED")


async def test_going_active_needs_an_unexpired_licence(client, settings, conn):
    user = await create_user(conn, role="assistant", lat=36.7, lng=3.0, license_days=-1)
    resp = await client.post(
        "/api/profile/assistant-status/",
        json={"is_active": True},
        headers=auth_header(settings, user),
    )
    assert resp.status == 409
    assert_error(await resp.json(), "LICENSE_EXPIRED")
    assert not await conn.fetchval("SELECT is_active FROM dispatch.assistants")


@pytest.mark.parametrize("body", [{}, {"is_active": "yes"}, {"is_active": 1}, {"is_active": None}])
async def test_status_invalid(client, settings, conn, body):
    user = await create_user(conn, role="assistant", lat=36.7, lng=3.0)
    resp = await client.post(
        "/api/profile/assistant-status/", json=body, headers=auth_header(settings, user)
    )
    assert resp.status == 400 and set((await resp.json())["fields"]) == {"is_active"}


# --- /api/assistants/ ---------------------------------------------------------------------


@pytest.fixture
async def fleet(conn):
    """Active assistants at growing distances from central Algiers, plus some who must not show."""
    near = await create_user(conn, role="assistant", lat=36.7540, lng=3.0590, is_active=True)
    mid = await create_user(
        conn, role="assistant", lat=36.7700, lng=3.0600, is_active=True, service_type="repair"
    )
    far = await create_user(conn, role="assistant", lat=36.9000, lng=3.2000, is_active=True)
    await create_user(conn, role="assistant", lat=36.7539, lng=3.0589, is_active=False)
    await create_user(
        conn, role="assistant", lat=36.7539, lng=3.0589, is_active=True, license_days=-3
    )
    await create_user(conn, role="assistant", is_active=True)  # no position
    return near, mid, far


async def test_assistants_nearest_first_from_callers_position(client, settings, conn, fleet):
    near, mid, far = fleet
    caller = await create_user(conn, lat=ALGIERS[0], lng=ALGIERS[1])
    resp = await client.get("/api/assistants/", headers=auth_header(settings, caller))
    assert resp.status == 200
    body = await resp.json()
    assert [a["id"] for a in body] == [near.id, mid.id, far.id]
    assert body[0]["distance"] < 0.05  # km
    assert 1.5 < body[1]["distance"] < 2.0
    assert {"id", "name", "current_lat", "current_lng", "distance"} <= set(body[0])
    assert "phone_number" not in body[0]


async def test_assistants_filters_and_query_origin(client, settings, conn, fleet):
    near, mid, far = fleet
    caller = await create_user(conn)  # no position of its own
    headers = auth_header(settings, caller)
    q = "?latitude=36.9&longitude=3.2"
    body = await (await client.get("/api/assistants/" + q, headers=headers)).json()
    assert body[0]["id"] == far.id
    body = await (
        await client.get("/api/assistants/?lat=36.7538&lng=3.0588&radius_km=5", headers=headers)
    ).json()
    assert [a["id"] for a in body] == [near.id, mid.id]
    body = await (
        await client.get(
            "/api/assistants/?lat=36.7538&lng=3.0588&service_type=repair", headers=headers
        )
    ).json()
    assert [a["id"] for a in body] == [mid.id]
    body = await (
        await client.get("/api/assistants/?lat=36.7538&lng=3.0588&limit=1", headers=headers)
    ).json()
    assert [a["id"] for a in body] == [near.id]
    # no origin at all: everyone active, without a distance
    body = await (await client.get("/api/assistants/", headers=headers)).json()
    assert {a["id"] for a in body} == {near.id, mid.id, far.id}
    assert all(a["distance"] is None for a in body)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("lat=100&lng=3", {"lat"}),
        ("lat=abc&lng=3", {"lat"}),
        ("lat=36", {"lng"}),
        ("limit=0", {"limit"}),
        ("limit=ten", {"limit"}),
        ("radius_km=-1", {"radius_km"}),
        ("service_type=flying", {"service_type"}),
        ("lat=nan&lng=3", {"lat"}),
    ],
)
async def test_assistants_invalid_query(client, settings, conn, query, fields):
    caller = await create_user(conn)
    resp = await client.get(f"/api/assistants/?{query}", headers=auth_header(settings, caller))
    assert resp.status == 400
    assert set((await resp.json())["fields"]) == fields
