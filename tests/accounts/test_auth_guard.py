"""The Bearer check and role guard, on probe routes: 401 and 403 always in the error shape."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from aiohttp import web

from api.app import create_app
from api.auth import require
from api.responses import json_response
from tests.support.apps import TxPool, serve
from tests.support.factories import auth_header, create_user


@pytest.fixture
async def guarded(settings, conn):
    app = create_app(settings, db_url="unused", pool=TxPool(conn))

    async def only_assistants(request: web.Request) -> web.Response:
        user = require(request, "assistant")
        return json_response({"id": user.id, "role": user.role})

    app.router.add_get("/api/_probe/assistant/", only_assistants)
    async with serve(app) as client:
        yield client


def forge(settings, **overrides) -> str:
    now = int(time.time())
    claims = {"sub": "1", "role": "assistant", "typ": "access", "jti": "x", "iat": now}
    claims |= {"exp": now + 60, "iss": settings.auth.issuer} | overrides
    key = (
        overrides.pop("key", settings.auth.secret())
        if "key" in overrides
        else settings.auth.secret()
    )
    claims.pop("key", None)
    return jwt.encode(claims, key, algorithm="HS256")


async def test_right_role_passes(guarded, settings, conn):
    user = await create_user(conn, role="assistant")
    resp = await guarded.get("/api/_probe/assistant/", headers=auth_header(settings, user))
    assert resp.status == 200
    assert await resp.json() == {"id": user.id, "role": "assistant"}


async def test_wrong_role_is_403(guarded, settings, conn):
    user = await create_user(conn, role="client")
    resp = await guarded.get("/api/_probe/assistant/", headers=auth_header(settings, user))
    assert resp.status == 403
    assert (await resp.json())["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "forged",
        "expired",
        "refresh",
        "wrong-issuer",
    ],
)
async def test_bad_credentials_are_401(guarded, settings, header):
    headers = {}
    if header == "forged":
        headers["Authorization"] = "Bearer " + forge(
            settings, key="another-key-another-key-another-key-123456"
        )
    elif header == "expired":
        headers["Authorization"] = "Bearer " + forge(settings, exp=int(time.time()) - 10)
    elif header == "refresh":
        headers["Authorization"] = "Bearer " + forge(settings, typ="refresh")
    elif header == "wrong-issuer":
        headers["Authorization"] = "Bearer " + forge(settings, iss="someone-else")
    elif header is not None:
        headers["Authorization"] = header
    resp = await guarded.get("/api/_probe/assistant/", headers=headers)
    assert resp.status == 401
    body = await resp.json()
    assert set(body) == {"error", "code"}
    assert body["code"] in {"NOT_AUTHENTICATED", "TOKEN_INVALID", "TOKEN_EXPIRED"}
    if header == "expired":
        assert body["code"] == "TOKEN_EXPIRED"


async def test_public_route_ignores_missing_token(guarded):
    assert (await guarded.get("/api/health/")).status == 200


async def test_a_token_seen_before_is_refused_once_it_expires(guarded, settings, conn):
    # The second call is answered from the process's verified tokens (api/auth.py); expiry still
    # holds for it, on the real clock.
    user = await create_user(conn, role="assistant")
    expires = int(time.time()) + 1
    headers = {"Authorization": "Bearer " + forge(settings, sub=str(user.id), exp=expires)}
    for _ in range(2):
        assert (await guarded.get("/api/_probe/assistant/", headers=headers)).status == 200
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)
    resp = await guarded.get("/api/_probe/assistant/", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["code"] == "TOKEN_EXPIRED"
