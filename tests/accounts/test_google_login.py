"""Google sign-in against a locally generated RSA key and JWKS file: good, expired, wrong
audience, wrongly signed, unverified email, and unconfigured (503)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.app import create_app
from tests.support.accounts import PASSWORD, assert_error, register, with_accounts
from tests.support.apps import TxPool, serve

CLIENT_ID = "test-client.apps.googleusercontent.com"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def google_key():
    return new_key()


@pytest.fixture
def jwks_file(tmp_path, google_key):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(google_key.public_key()))
    jwk |= {"kid": "test-kid", "use": "sig", "alg": "RS256"}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path


def id_token(key, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": "google-sub-1",
        "email": "Gina@Gmail.com",
        "email_verified": True,
        "name": "Gina",
        "iat": now,
        "exp": now + 600,
    } | overrides
    kid = claims.pop("kid", "test-kid")
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def gclient(settings, conn, jwks_file):
    configured = with_accounts(
        settings, google_client_id=CLIENT_ID, google_jwks_file=str(jwks_file)
    )
    async with serve(create_app(configured, db_url="unused", pool=TxPool(conn))) as c:
        yield c


async def test_new_google_user_becomes_a_verified_client(gclient, conn, google_key):
    resp = await gclient.post("/api/auth/login/google/", json={"token": id_token(google_key)})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["created"] is True
    assert body["user"]["email"] == "gina@gmail.com" and body["user"]["user_type"] == "client"
    assert body["user"]["email_verified"] is True
    assert set(body["tokens"]) == {"access", "refresh"}
    # the second time logs into the same account
    again = await gclient.post("/api/auth/login/google/", json={"token": id_token(google_key)})
    assert (await again.json())["user"]["id"] == body["user"]["id"]
    assert (await again.json())["created"] is False
    assert await conn.fetchval("SELECT count(*) FROM dispatch.users") == 1


async def test_existing_account_is_linked_by_email(gclient, conn, google_key):
    registered = await register(
        gclient, {"email": "gina@gmail.com", "phone": "+213555000111", "password": PASSWORD}
    )
    resp = await gclient.post("/api/auth/login/google/", json={"token": id_token(google_key)})
    body = await resp.json()
    assert body["created"] is False and body["user"]["id"] == registered["user"]["id"]
    assert await conn.fetchval("SELECT google_sub FROM dispatch.users") == "google-sub-1"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("expired", "GOOGLE_TOKEN_EXPIRED"),
        ("wrong-audience", "GOOGLE_TOKEN_INVALID"),
        ("wrong-issuer", "GOOGLE_TOKEN_INVALID"),
        ("wrong-key", "GOOGLE_TOKEN_INVALID"),
        ("unknown-kid", "GOOGLE_TOKEN_INVALID"),
        ("unverified-email", "GOOGLE_EMAIL_UNVERIFIED"),
        ("no-email", "GOOGLE_TOKEN_INVALID"),
        ("hs256", "GOOGLE_TOKEN_INVALID"),
        ("garbage", "GOOGLE_TOKEN_INVALID"),
    ],
)
async def test_bad_google_tokens_are_401(gclient, conn, google_key, case, code):
    now = int(time.time())
    token = {
        "expired": lambda: id_token(google_key, iat=now - 7200, exp=now - 3600),
        "wrong-audience": lambda: id_token(google_key, aud="someone-else"),
        "wrong-issuer": lambda: id_token(google_key, iss="https://evil.example"),
        "wrong-key": lambda: id_token(new_key()),
        "unknown-kid": lambda: id_token(google_key, kid="other"),
        "unverified-email": lambda: id_token(google_key, email_verified=False),
        "no-email": lambda: id_token(google_key, email=None),
        "hs256": lambda: jwt.encode(
            {"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "test-kid"}
        ),
        "garbage": lambda: "not-a-token",
    }[case]()
    resp = await gclient.post("/api/auth/login/google/", json={"token": token})
    assert resp.status == 401
    assert_error(await resp.json(), code)
    assert await conn.fetchval("SELECT count(*) FROM dispatch.users") == 0


async def test_missing_token_is_400(gclient):
    resp = await gclient.post("/api/auth/login/google/", json={})
    assert resp.status == 400 and set((await resp.json())["fields"]) == {"token"}


async def test_unconfigured_google_is_503(client, google_key):
    resp = await client.post("/api/auth/login/google/", json={"token": id_token(google_key)})
    assert resp.status == 503
    body = await resp.json()
    assert_error(body, "GOOGLE_NOT_CONFIGURED")
    assert "not configured" in body["error"]


async def test_unreadable_jwks_is_503(settings, conn, tmp_path, google_key):
    broken = with_accounts(
        settings, google_client_id=CLIENT_ID, google_jwks_file=str(tmp_path / "missing.json")
    )
    async with serve(create_app(broken, db_url="unused", pool=TxPool(conn))) as c:
        resp = await c.post("/api/auth/login/google/", json={"token": id_token(google_key)})
        assert resp.status == 503
        assert_error(await resp.json(), "GOOGLE_UNAVAILABLE")
