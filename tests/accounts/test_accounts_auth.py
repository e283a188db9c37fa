"""Registration, logins, refresh rotation, logout, codes and password reset over real HTTP."""

from __future__ import annotations

import pytest

from tests.support.accounts import (
    ASSISTANT_000,
    CLIENT_000,
    CLIENT_001,
    PASSWORD,
    assert_error,
    bearer,
    last_code,
    register,
)


async def count(conn, table: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM dispatch.{table}")


# --- registration -------------------------------------------------------------------------


async def test_register_client_seed_000(client, conn):
    body = await register(client, CLIENT_000)
    user = body["user"]
    assert user["email"] == "amel@example.com"
    assert user["phone"] == user["phone_number"] == "+213555102030"
    assert user["user_type"] == "client" and user["name"] == "Amel"
    assert user["created_at"].endswith("Z") and user["createdAt"] == user["created_at"]
    assert user["email_verified"] is False and user["phone_verified"] is False
    assert set(body["tokens"]) == {"access", "refresh"}
    assert body["access"] == body["tokens"]["access"]
    # one verification code per contact, queued in the outbox; codes stored hashed only
    recipients = {r["recipient"] for r in await conn.fetch("SELECT recipient FROM dispatch.outbox")}
    assert recipients == {"amel@example.com", "+213555102030"}
    code = await last_code(conn, "amel@example.com")
    assert code not in str(await conn.fetch("SELECT * FROM dispatch.one_time_codes"))
    # the access token works
    resp = await client.get("/api/profile/user/", headers=bearer(body["tokens"]["access"]))
    assert resp.status == 200 and (await resp.json())["id"] == user["id"]


async def test_register_client_seed_001(client):
    body = await register(client, CLIENT_001)
    assert body["user"]["phone"] == "+1234567890"
    assert body["user"]["email"] == "user@example.com"


async def test_register_without_email(client):
    body = await register(client, {"phone": "0550 12 34 56", "password": PASSWORD})
    assert body["user"]["email"] is None and body["user"]["phone"] == "0550123456"
    assert body["user"]["user_type"] == "client"


@pytest.mark.parametrize("expiry", ["31:12:39", "2039-12-31"])
async def test_register_assistant_both_date_formats(client, conn, expiry):
    body = await register(client, ASSISTANT_000 | {"driving_license_expiry": expiry})
    user = body["user"]
    assert user["user_type"] == "assistant"
    assert user["driving_license_expiry"] == "2039-12-31"
    assert user["is_active_assistant"] is False
    assert (user["current_lat"], user["current_lng"]) == (36.7538, 3.0588)
    cells = await conn.fetchrow(
        "SELECT h3_r7, h3_r8, h3_r9 FROM dispatch.positions WHERE user_id = $1", user["id"]
    )
    assert all(cells.values())


async def test_register_assistant_with_aliases(client):
    body = ASSISTANT_000 | {"phone": "+213550999002", "currentLat": 36.7, "currentLng": 3.1}
    for key in ("phone_number", "current_lat", "current_lng", "service_type"):
        body.pop(key)
    body["assistance_type"] = "repair"
    user = (await register(client, body))["user"]
    assert user["service_type"] == "repair" and user["current_lat"] == 36.7


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"password": "short", "password_confirm": "short"}, {"password"}),
        ({"password_confirm": "different password"}, {"password_confirm"}),
        ({"phone_number": "call me"}, {"phone_number"}),
        ({"email": "not-an-email"}, {"email"}),
        ({"user_type": "dispatcher"}, {"user_type"}),
        ({"driving_license_expiry": "01:01:20"}, {"driving_license_expiry"}),
        ({"driving_license_expiry": "2039/12/31"}, {"driving_license_expiry"}),
        # Out of the API's date range (asyncpg sent it as PostgreSQL's 'infinity').
        ({"driving_license_expiry": "9999-12-31"}, {"driving_license_expiry"}),
        ({"driving_license_cat": "z"}, {"driving_license_cat"}),
        ({"service_type": "flying"}, {"service_type"}),
        ({"vehicle_registration_num": "12a"}, {"vehicle_registration_num"}),
        ({"current_lat": 91.0}, {"current_lat"}),
        ({"current_lng": "3.05"}, {"current_lng"}),
        ({"name": "x" * 151}, {"name"}),
        ({"service_type": None, "vehicle_type": None}, {"service_type", "vehicle_type"}),
    ],
)
async def test_register_invalid_is_400_with_fields(client, conn, change, fields):
    body = {k: v for k, v in (ASSISTANT_000 | change).items() if v is not None}
    resp = await client.post("/api/auth/register/", json=body)
    assert resp.status == 400
    payload = await resp.json()
    assert_error(payload, "VALIDATION_ERROR")
    assert set(payload["fields"]) == fields
    assert await count(conn, "users") == 0  # nothing changed


async def test_register_missing_everything(client):
    resp = await client.post("/api/auth/register/", json={})
    payload = await resp.json()
    assert resp.status == 400 and set(payload["fields"]) == {"phone_number", "password"}


@pytest.mark.parametrize("key", ["email", "phone_number"])
async def test_register_duplicate_is_409(client, conn, key):
    await register(client, CLIENT_000)
    other = CLIENT_001 | {
        "email": CLIENT_000["email"] if key == "email" else "other@example.com",
        "phone": CLIENT_000["phone_number"] if key == "phone_number" else "+1999999999",
    }
    resp = await client.post("/api/auth/register/", json=other)
    assert resp.status == 409
    assert_error(await resp.json(), "EMAIL_TAKEN" if key == "email" else "PHONE_TAKEN")
    assert await count(conn, "users") == 1


# --- logins -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login/email/", {"email": "AMEL@example.com ", "password": PASSWORD}),
        ("/api/auth/login/phone/", {"phone_number": "+213555102030", "password": PASSWORD}),
        ("/api/auth/login/phone/", {"phone": "+213 555 10 20 30", "password": PASSWORD}),
    ],
)
async def test_login(client, path, body):
    registered = await register(client, CLIENT_000)
    resp = await client.post(path, json=body)
    assert resp.status == 200
    payload = await resp.json()
    assert payload["user"]["id"] == registered["user"]["id"]
    assert set(payload["tokens"]) == {"access", "refresh"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login/email/", {"email": "amel@example.com", "password": "wrong password"}),
        ("/api/auth/login/email/", {"email": "nobody@example.com", "password": PASSWORD}),
        ("/api/auth/login/phone/", {"phone": "+213555102030", "password": "wrong password"}),
        ("/api/auth/login/phone/", {"phone": "+19999999", "password": PASSWORD}),
    ],
)
async def test_bad_credentials_same_401(client, path, body):
    await register(client, CLIENT_000)
    resp = await client.post(path, json=body)
    assert resp.status == 401
    payload = await resp.json()
    assert payload == {"error": "Invalid credentials.", "code": "INVALID_CREDENTIALS"}


async def test_disabled_account_cannot_log_in(client, conn):
    await register(client, CLIENT_000)
    await conn.execute("UPDATE dispatch.users SET is_disabled = true")
    resp = await client.post(
        "/api/auth/login/email/", json={"email": "amel@example.com", "password": PASSWORD}
    )
    assert resp.status == 401


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/api/auth/login/email/", {"password": PASSWORD}, {"email"}),
        ("/api/auth/login/email/", {"email": "a@b.co", "password": 12345678}, {"password"}),
        ("/api/auth/login/phone/", {"phone": "abc", "password": PASSWORD}, {"phone"}),
        ("/api/auth/login/phone/", {}, {"phone_number", "password"}),
    ],
)
async def test_login_invalid_body_is_400(client, path, body, fields):
    resp = await client.post(path, json=body)
    assert resp.status == 400
    assert set((await resp.json())["fields"]) == fields


# --- refresh, rotation, reuse, logout -----------------------------------------------------


@pytest.mark.parametrize("key", ["refresh", "token"])
async def test_refresh_rotates(client, key):
    tokens = (await register(client, CLIENT_000))["tokens"]
    resp = await client.post("/api/auth/token/refresh/", json={key: tokens["refresh"]})
    assert resp.status == 200
    fresh = await resp.json()
    assert fresh["access"] == fresh["access_token"]
    assert fresh["refresh"] != tokens["refresh"]
    assert (await client.get("/api/profile/user/", headers=bearer(fresh["access"]))).status == 200
    # the successor rotates in turn
    resp = await client.post("/api/auth/token/refresh/", json={"refresh": fresh["refresh"]})
    assert resp.status == 200


async def test_reused_refresh_token_revokes_the_family(client, conn):
    tokens = (await register(client, CLIENT_000))["tokens"]
    first = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    successor = (await first.json())["refresh"]
    replay = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    assert replay.status == 401
    assert_error(await replay.json(), "TOKEN_REUSED")
    # the legitimate successor is dead too: the whole session ended
    resp = await client.post("/api/auth/token/refresh/", json={"refresh": successor})
    assert resp.status == 401
    assert (
        await conn.fetchval("SELECT count(*) FROM dispatch.refresh_tokens WHERE revoked_at IS NULL")
        == 0
    )


async def test_other_sessions_survive_a_reuse(client):
    await register(client, CLIENT_000)
    login = {"email": "amel@example.com", "password": PASSWORD}
    a = (await (await client.post("/api/auth/login/email/", json=login)).json())["tokens"]
    b = (await (await client.post("/api/auth/login/email/", json=login)).json())["tokens"]
    await client.post("/api/auth/token/refresh/", json={"refresh": a["refresh"]})
    await client.post("/api/auth/token/refresh/", json={"refresh": a["refresh"]})  # reuse
    resp = await client.post("/api/auth/token/refresh/", json={"refresh": b["refresh"]})
    assert resp.status == 200


@pytest.mark.parametrize("which", ["access", "garbage", "expired", "missing"])
async def test_refresh_refuses_bad_tokens(client, conn, which):
    tokens = (await register(client, CLIENT_000))["tokens"]
    if which == "missing":
        resp = await client.post("/api/auth/token/refresh/", json={})
        assert resp.status == 400
        assert set((await resp.json())["fields"]) == {"refresh"}
        return
    if which == "expired":
        await conn.execute("UPDATE dispatch.refresh_tokens SET expires_at = now() - interval '1s'")
        token = tokens["refresh"]
    else:
        token = tokens["access"] if which == "access" else "not.a.token"
    resp = await client.post("/api/auth/token/refresh/", json={"refresh": token})
    assert resp.status == 401
    assert_error(await resp.json(), "TOKEN_EXPIRED" if which == "expired" else "TOKEN_INVALID")


async def test_logout_revokes_the_session(client):
    tokens = (await register(client, CLIENT_000))["tokens"]
    rotated = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    current = (await rotated.json())["refresh"]
    resp = await client.post("/api/auth/logout/", json={"refresh": current})
    assert resp.status == 200
    resp = await client.post("/api/auth/token/refresh/", json={"refresh": current})
    assert resp.status == 401
    assert_error(await resp.json(), "TOKEN_REVOKED")
    # logging out twice is harmless
    assert (await client.post("/api/auth/logout/", json={"refresh": current})).status == 200


async def test_logout_refuses_forged_tokens(client):
    resp = await client.post("/api/auth/logout/", json={"refresh": "forged"})
    assert resp.status == 401
    assert (await client.post("/api/auth/logout/", json={})).status == 400


# --- verification codes -------------------------------------------------------------------


async def test_verify_email_and_phone(client, conn):
    user = (await register(client, CLIENT_000))["user"]
    code = await last_code(conn, "amel@example.com")
    resp = await client.post(
        "/api/auth/verify-email/", json={"email": "amel@example.com", "code": code}
    )
    assert resp.status == 200
    assert (await resp.json())["email_verified"] is True
    code = await last_code(conn, "+213555102030")
    resp = await client.post(
        "/api/auth/verify-phone/", json={"phone": "+213555102030", "code": code}
    )
    assert resp.status == 200
    row = await conn.fetchrow(
        "SELECT email_verified, phone_verified FROM dispatch.users WHERE id = $1", user["id"]
    )
    assert row["email_verified"] and row["phone_verified"]
    # single use
    resp = await client.post(
        "/api/auth/verify-email/", json={"email": "amel@example.com", "code": code}
    )
    assert resp.status == 400


async def test_verify_phone_with_phone_number_key(client, conn):
    await register(client, CLIENT_001)
    code = await last_code(conn, "+1234567890")
    resp = await client.post(
        "/api/auth/verify-phone/", json={"phone_number": "+1234567890", "code": code}
    )
    assert resp.status == 200


async def test_wrong_code_unknown_account_and_bad_format(client, conn):
    await register(client, CLIENT_000)
    code = await last_code(conn, "amel@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for email, value, expected in [
        ("amel@example.com", wrong, "CODE_INVALID"),
        ("nobody@example.com", code, "CODE_INVALID"),
    ]:
        resp = await client.post("/api/auth/verify-email/", json={"email": email, "code": value})
        assert resp.status == 400
        payload = await resp.json()
        assert_error(payload, expected)
        assert payload["fields"] == {"code": ["The code is invalid."]}
    resp = await client.post(
        "/api/auth/verify-email/", json={"email": "amel@example.com", "code": "12ab"}
    )
    assert resp.status == 400 and set((await resp.json())["fields"]) == {"code"}


async def test_expired_code_is_refused(client, conn):
    await register(client, CLIENT_000)
    code = await last_code(conn, "amel@example.com")
    await conn.execute("UPDATE dispatch.one_time_codes SET expires_at = now() - interval '1s'")
    resp = await client.post(
        "/api/auth/verify-email/", json={"email": "amel@example.com", "code": code}
    )
    assert resp.status == 400
    assert_error(await resp.json(), "CODE_EXPIRED")
    assert not await conn.fetchval("SELECT email_verified FROM dispatch.users")


async def test_codes_expire_after_fifteen_minutes(client, conn):
    await register(client, CLIENT_000)
    ttl = await conn.fetchval(
        "SELECT extract(epoch FROM expires_at - created_at) FROM dispatch.one_time_codes LIMIT 1"
    )
    assert ttl == 900


async def test_five_wrong_tries_then_refused(client, conn):
    await register(client, CLIENT_000)
    code = await last_code(conn, "amel@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        resp = await client.post(
            "/api/auth/verify-email/", json={"email": "amel@example.com", "code": wrong}
        )
        assert_error(await resp.json(), "CODE_INVALID")
    # even the right code is refused now: the tries were counted despite the 400s
    resp = await client.post(
        "/api/auth/verify-email/", json={"email": "amel@example.com", "code": code}
    )
    assert resp.status == 400
    assert_error(await resp.json(), "CODE_ATTEMPTS_EXCEEDED")
    # a new code starts afresh
    resend = await client.post("/api/auth/resend-verification/", json={"email": "amel@example.com"})
    assert resend.status == 200
    code = await last_code(conn, "amel@example.com")
    resp = await client.post(
        "/api/auth/verify-email/", json={"email": "amel@example.com", "code": code}
    )
    assert resp.status == 200


@pytest.mark.parametrize(
    "body",
    [{"email": "amel@example.com"}, {"phone": "+213555102030"}, {"phone_number": "+213555102030"}],
)
async def test_resend_supersedes_the_old_code(client, conn, body):
    await register(client, CLIENT_000)
    recipient = body.get("email") or "+213555102030"
    old = await last_code(conn, recipient)
    resp = await client.post("/api/auth/resend-verification/", json=body)
    assert resp.status == 200
    new = await last_code(conn, recipient)
    live = await conn.fetchval(
        "SELECT count(*) FROM dispatch.one_time_codes WHERE consumed_at IS NULL"
    )
    assert live == 2  # one per purpose
    if old != new:
        path = "/api/auth/verify-email/" if "email" in body else "/api/auth/verify-phone/"
        key = "email" if "email" in body else "phone"
        resp = await client.post(path, json={key: recipient, "code": old})
        assert resp.status == 400


async def test_resend_never_reveals_accounts(client, conn):
    resp = await client.post("/api/auth/resend-verification/", json={"email": "ghost@example.com"})
    assert resp.status == 200
    assert await count(conn, "outbox") == 0
    resp = await client.post("/api/auth/resend-verification/", json={})
    assert resp.status == 400 and "email" in (await resp.json())["fields"]


# --- password reset -----------------------------------------------------------------------


async def test_password_reset_revokes_sessions(client, conn):
    tokens = (await register(client, CLIENT_000))["tokens"]
    resp = await client.post("/api/auth/password-reset/", json={"email": "amel@example.com"})
    assert resp.status == 200
    code = await last_code(conn, "amel@example.com")
    new_password = "a brand new password"
    resp = await client.post(
        "/api/auth/password-reset/confirm/",
        json={
            "email": "amel@example.com",
            "code": code,
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
    )
    assert resp.status == 200
    resp = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    assert resp.status == 401
    old = {"email": "amel@example.com", "password": PASSWORD}
    assert (await client.post("/api/auth/login/email/", json=old)).status == 401
    new = {"email": "amel@example.com", "password": new_password}
    assert (await client.post("/api/auth/login/email/", json=new)).status == 200


async def test_password_reset_seed_001_body_without_confirmation(client, conn):
    await register(client, CLIENT_001)
    await client.post("/api/auth/password-reset/", json={"email": "user@example.com"})
    code = await last_code(conn, "user@example.com")
    body = {"email": "user@example.com", "code": code, "new_password": "new secure password"}
    assert (await client.post("/api/auth/password-reset/confirm/", json=body)).status == 200


async def test_password_reset_unknown_email_is_silent(client, conn):
    resp = await client.post("/api/auth/password-reset/", json={"email": "ghost@example.com"})
    assert resp.status == 200
    assert await count(conn, "outbox") == 0


@pytest.mark.parametrize(
    ("change", "fields", "code"),
    [
        ({"new_password": "short", "new_password_confirm": "short"}, {"new_password"}, None),
        ({"new_password_confirm": "not the same"}, {"new_password_confirm"}, None),
        ({"code": "000000x"}, {"code"}, None),
        ({}, {"code"}, "CODE_INVALID"),
    ],
)
async def test_password_reset_confirm_errors(client, conn, change, fields, code):
    await register(client, CLIENT_000)
    await client.post("/api/auth/password-reset/", json={"email": "amel@example.com"})
    real = await last_code(conn, "amel@example.com")
    wrong = f"{(int(real) + 1) % 10**6:06d}"
    body = {
        "email": "amel@example.com",
        "code": wrong,
        "new_password": "new password 123",
        "new_password_confirm": "new password 123",
    } | change
    before = await conn.fetchval("SELECT password_hash FROM dispatch.users")
    resp = await client.post("/api/auth/password-reset/confirm/", json=body)
    assert resp.status == 400
    payload = await resp.json()
    assert set(payload["fields"]) == fields
    if code:
        assert payload["code"] == code
    assert await conn.fetchval("SELECT password_hash FROM dispatch.users") == before
