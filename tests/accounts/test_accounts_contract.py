"""Contract test over every protected accounts route: 401 without or with a bad token, 403 for
the wrong role, always in the one error shape."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.support.accounts import assert_error
from tests.support.factories import auth_header, create_user

# (method, path, roles allowed; empty = any authenticated user)
PROTECTED = [
    ("GET", "/api/profile/user/", ()),
    ("PUT", "/api/profile/user/", ()),
    ("PATCH", "/api/profile/user/", ()),
    ("GET", "/api/profile/assistant/", ("assistant",)),
    ("PUT", "/api/profile/assistant/", ("assistant",)),
    ("PATCH", "/api/profile/assistant/", ("assistant",)),
    ("POST", "/api/profile/update-location/", ()),
    ("POST", "/api/profile/assistant-status/", ("assistant",)),
    ("PUT", "/api/profile/update-status/", ("assistant",)),
    ("GET", "/api/assistants/", ()),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _ in PROTECTED]


def token(settings, *, key=None, **claims) -> str:
    now = int(time.time())
    payload = {
        "sub": "1",
        "role": "client",
        "typ": "access",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
        "iss": settings.auth.issuer,
    } | claims
    return jwt.encode(payload, key or settings.auth.secret(), algorithm="HS256")


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=ROUTE_IDS)
@pytest.mark.parametrize("slash", [True, False])
@pytest.mark.parametrize("credential", ["none", "expired", "forged", "refresh", "malformed"])
async def test_bad_credentials_are_401(client, settings, method, path, roles, slash, credential):
    headers = {}
    if credential == "expired":
        headers["Authorization"] = "Bearer " + token(settings, exp=int(time.time()) - 5)
    elif credential == "forged":
        headers["Authorization"] = "Bearer " + token(settings, key="x" * 40)
    elif credential == "refresh":
        headers["Authorization"] = "Bearer " + token(settings, typ="refresh")
    elif credential == "malformed":
        headers["Authorization"] = "Bearer abc.def"
    url = path if slash else path.rstrip("/")
    resp = await client.request(method, url, json={}, headers=headers)
    assert resp.status == 401
    body = await resp.json()
    assert_error(body, body["code"])
    assert body["code"] in {"NOT_AUTHENTICATED", "TOKEN_INVALID", "TOKEN_EXPIRED"}
    if credential == "expired":
        assert body["code"] == "TOKEN_EXPIRED"


WRONG_ROLE = [
    (m, p, role)
    for m, p, roles in PROTECTED
    if roles
    for role in ("client", "assistant", "dispatcher")
    if role not in roles
]


@pytest.mark.parametrize(("method", "path", "role"), WRONG_ROLE)
async def test_wrong_role_is_403(client, settings, conn, method, path, role):
    user = await create_user(conn, role=role)
    body = {"is_active": True} if "status" in path else {}
    resp = await client.request(method, path, json=body, headers=auth_header(settings, user))
    assert resp.status == 403
    assert_error(await resp.json(), "PERMISSION_DENIED")


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=ROUTE_IDS)
async def test_allowed_role_passes_the_guard(client, settings, conn, method, path, roles):
    user = await create_user(conn, role=roles[0] if roles else "dispatcher", lat=36.7, lng=3.0)
    body = {"is_active": False} if "status" in path else {"lat": 36.7, "lng": 3.0}
    resp = await client.request(method, path, json=body, headers=auth_header(settings, user))
    assert resp.status == 200, await resp.text()


async def test_token_of_a_deleted_account_is_401(client, settings, conn):
    user = await create_user(conn)
    await conn.execute("DELETE FROM dispatch.users WHERE id = $1", user.id)
    resp = await client.get("/api/profile/user/", headers=auth_header(settings, user))
    assert resp.status == 401
