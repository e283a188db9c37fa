"""No input to an accounts or profile endpoint produces a 500: odd bodies are 400 and change nothing."""

from __future__ import annotations

import pytest

from tests.support.factories import auth_header, create_user

PUBLIC = [
    "/api/auth/register/",
    "/api/auth/login/email/",
    "/api/auth/login/phone/",
    "/api/auth/login/google/",
    "/api/auth/verify-email/",
    "/api/auth/verify-phone/",
    "/api/auth/resend-verification/",
    "/api/auth/password-reset/",
    "/api/auth/password-reset/confirm/",
    "/api/auth/token/refresh/",
    "/api/auth/logout/",
]
PRIVATE = [
    ("PUT", "/api/profile/user/"),
    ("PATCH", "/api/profile/user/"),
    ("PUT", "/api/profile/assistant/"),
    ("PATCH", "/api/profile/assistant/"),
    ("POST", "/api/profile/update-location/"),
    ("POST", "/api/profile/assistant-status/"),
    ("PUT", "/api/profile/update-status/"),
]
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    1e308,
    "",
    " ",
    "\x00",
    "a\x00b",
    "é" * 5000,
    [],
    {},
    [1],
    {"a": 1},
]
FIELDS = [
    "email",
    "phone",
    "phone_number",
    "password",
    "password_confirm",
    "name",
    "user_type",
    "service_type",
    "vehicle_type",
    "driving_license_cat",
    "driving_license_num",
    "driving_license_expiry",
    "vehicle_registration_num",
    "current_lat",
    "current_lng",
    "lat",
    "lng",
    "latitude",
    "longitude",
    "code",
    "token",
    "refresh",
    "new_password",
    "is_active",
    "address",
]
RAW_BODIES = [b"", b"null", b"[]", b"{", b'{"email": "\\ud800"}', b'{"lat": 1e999}', b"\xff"]


# Values that are wrong for every field of the private endpoints (0 is a fine latitude, True a
# fine is_active), so each of those bodies must be refused.
ALWAYS_WRONG = [v for v in ODD_VALUES if v is not True and not isinstance(v, int)]


def odd_bodies(values=ODD_VALUES):
    for value in values:
        yield {field: value for field in FIELDS}


@pytest.mark.parametrize("path", PUBLIC)
async def test_public_endpoints_never_500(client, conn, path):
    for body in odd_bodies():
        resp = await client.post(path, json=body)
        assert resp.status in {400, 401, 503}, (path, body, await resp.text())
    for raw in RAW_BODIES:
        resp = await client.post(path, data=raw, headers={"Content-Type": "application/json"})
        assert resp.status < 500, (path, raw)
    assert await conn.fetchval("SELECT count(*) FROM dispatch.users") == 0


@pytest.mark.parametrize(("method", "path"), PRIVATE)
async def test_private_endpoints_never_500(client, settings, conn, method, path):
    user = await create_user(conn, role="assistant", name="Same", lat=36.7, lng=3.0)
    headers = auth_header(settings, user)
    for body in odd_bodies(ALWAYS_WRONG):
        resp = await client.request(method, path, json=body, headers=headers)
        assert resp.status == 400, (path, body, await resp.text())
    for raw in RAW_BODIES:
        resp = await client.request(method, path, data=raw, headers=headers)
        assert resp.status < 500, (path, raw)
    assert await conn.fetchval("SELECT name FROM dispatch.users WHERE id = $1", user.id) == "Same"


async def test_odd_query_strings_never_500(client, settings, conn):
    user = await create_user(conn)
    headers = auth_header(settings, user)
    for query in [
        "lat=%00&lng=1",
        "lat=1e999&lng=1",
        "limit=99999999999999999999",
        "lat=&lng=",
        "radius_km=inf",
        "service_type=%00",
        "lat=1&lat=2&lng=3",
    ]:
        resp = await client.get(f"/api/assistants/?{query}", headers=headers)
        assert resp.status in {200, 400}, (query, await resp.text())


async def test_location_for_a_removed_account_is_401(client, settings, conn):
    user = await create_user(conn)
    await conn.execute("DELETE FROM dispatch.users WHERE id = $1", user.id)
    resp = await client.post(
        "/api/profile/update-location/",
        json={"lat": 1, "lng": 2},
        headers=auth_header(settings, user),
    )
    assert resp.status == 401
