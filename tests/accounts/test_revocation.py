"""Access tokens are revocable: logout, password reset, refresh reuse and disabling end them."""

from __future__ import annotations

from tests.support.accounts import CLIENT_000, PASSWORD, assert_error, bearer, last_code, register
from tests.support.apps import HANDSHAKE


async def profile_status(client, access: str) -> tuple[int, dict]:
    resp = await client.get("/api/profile/user/", headers=bearer(access))
    return resp.status, await resp.json()


async def test_logout_revokes_the_sessions_access_tokens(client):
    first = (await register(client, CLIENT_000))["tokens"]
    login = await client.post(
        "/api/auth/login/email/", json={"email": "amel@example.com", "password": PASSWORD}
    )
    second = (await login.json())["tokens"]
    assert (await profile_status(client, first["access"]))[0] == 200
    resp = await client.post("/api/auth/logout/", json={"refresh": first["refresh"]})
    assert resp.status == 200
    status, body = await profile_status(client, first["access"])
    assert status == 401
    assert_error(body, "TOKEN_REVOKED")
    # Another login session of the same user lives on.
    assert (await profile_status(client, second["access"]))[0] == 200


async def test_rotated_access_tokens_are_revoked_with_their_session(client):
    tokens = (await register(client, CLIENT_000))["tokens"]
    rotated = await (
        await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    ).json()
    assert (await profile_status(client, rotated["access"]))[0] == 200
    # Presenting the used refresh token again is reuse: the whole session ends, access included.
    reuse = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    assert reuse.status == 401
    assert (await profile_status(client, rotated["access"]))[0] == 401


async def test_password_reset_revokes_access_tokens(client, conn):
    tokens = (await register(client, CLIENT_000))["tokens"]
    await client.post("/api/auth/password-reset/", json={"email": "amel@example.com"})
    code = await last_code(conn, "amel@example.com")
    resp = await client.post(
        "/api/auth/password-reset/confirm/",
        json={
            "email": "amel@example.com",
            "code": code,
            "new_password": "another password 1",
            "new_password_confirm": "another password 1",
        },
    )
    assert resp.status == 200
    assert (await profile_status(client, tokens["access"]))[0] == 401


async def test_disabled_user_is_refused_everywhere(client, conn):
    body = await register(client, CLIENT_000)
    access = body["tokens"]["access"]
    await conn.execute(
        "UPDATE dispatch.users SET is_disabled = true WHERE id = $1", body["user"]["id"]
    )
    status, err = await profile_status(client, access)
    assert status == 401
    assert_error(err, "TOKEN_REVOKED")


async def test_revoked_token_cannot_open_a_websocket(client):
    tokens = (await register(client, CLIENT_000))["tokens"]
    await client.post("/api/auth/logout/", json={"refresh": tokens["refresh"]})
    for path, headers in [
        (f"/ws/assistance/1/?token={tokens['access']}", HANDSHAKE),
        ("/ws/assistance/1/", {**HANDSHAKE, **bearer(tokens["access"])}),
    ]:
        resp = await client.get(path, headers=headers)
        assert resp.status == 401
        assert_error(await resp.json(), "TOKEN_REVOKED")
