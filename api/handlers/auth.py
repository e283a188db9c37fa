"""Accounts: registration, the three logins, codes, password reset, token refresh and logout."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.accounts_setup import GOOGLE
from api.describe import PUBLIC, describe
from api.keys import POOL, SETTINGS
from api.ratelimit import limit
from api.responses import json_response
from api.schemas import accounts as s
from api.schemas.accounts import Refreshed, Session
from api.schemas.common import Message
from api.schemas.validation import body
from dispatch.accounts import codes, tokens, users
from dispatch.accounts.passwords import hash_password
from dispatch.core.db import transaction


def _session(user: dict[str, Any], pair: tokens.TokenPair) -> dict[str, Any]:
    # The contract's {"user", "tokens"}, plus the tokens at the top level for seed-000 clients.
    return {"user": user, "tokens": pair.json(), **pair.json()}


@describe(
    "Register a client or an assistant",
    roles=PUBLIC,
    tag="accounts",
    body=s.RegisterBody,
    response=Session,
    status=201,
    errors={409: "EMAIL_TAKEN, PHONE_TAKEN.", 429: "RATE_LIMITED (with Retry-After)."},
)
async def register(request: web.Request) -> web.Response:
    data = await body(request, s.RegisterBody)
    await limit(request, "register")
    password_hash = await hash_password(data.password)
    async with transaction(request.app[POOL]) as conn:
        user, pair = await users.register(
            conn,
            request.app[SETTINGS],
            role=data.user_type,
            name=data.name,
            email=data.email,
            phone_number=data.phone_number,
            address=data.address,
            password_hash=password_hash,
            assistant=data.assistant(),
            lat=data.current_lat,
            lng=data.current_lng,
        )
    return json_response(_session(user, pair), status=201)


@describe(
    "Log in with email and password",
    roles=PUBLIC,
    tag="accounts",
    body=s.EmailLoginBody,
    response=Session,
    errors={401: "INVALID_CREDENTIALS.", 429: "RATE_LIMITED (with Retry-After)."},
)
async def login_email(request: web.Request) -> web.Response:
    data = await body(request, s.EmailLoginBody)
    await limit(request, "login", data.email)
    user, pair = await users.login_with_password(
        request.app[POOL], request.app[SETTINGS], email=data.email, password=data.password
    )
    return json_response(_session(user, pair))


@describe(
    "Log in with phone number and password",
    roles=PUBLIC,
    tag="accounts",
    body=s.PhoneLoginBody,
    response=Session,
    errors={401: "INVALID_CREDENTIALS.", 429: "RATE_LIMITED (with Retry-After)."},
)
async def login_phone(request: web.Request) -> web.Response:
    data = await body(request, s.PhoneLoginBody)
    await limit(request, "login", data.phone_number)
    user, pair = await users.login_with_password(
        request.app[POOL],
        request.app[SETTINGS],
        phone_number=data.phone_number,
        password=data.password,
    )
    return json_response(_session(user, pair))


@describe(
    "Log in (or sign up as a client) with a Google ID token",
    roles=PUBLIC,
    tag="accounts",
    body=s.GoogleLoginBody,
    response=Session,
    errors={
        401: "GOOGLE_TOKEN_INVALID, GOOGLE_TOKEN_EXPIRED, GOOGLE_EMAIL_UNVERIFIED.",
        429: "RATE_LIMITED (with Retry-After).",
        503: "GOOGLE_NOT_CONFIGURED, GOOGLE_UNAVAILABLE, DATABASE_UNAVAILABLE.",
    },
)
async def login_google(request: web.Request) -> web.Response:
    data = await body(request, s.GoogleLoginBody)
    await limit(request, "login")
    identity = await request.app[GOOGLE].verify(data.token)
    async with transaction(request.app[POOL]) as conn:
        user, pair, created = await users.login_with_google(
            conn, request.app[SETTINGS], identity=identity
        )
    return json_response(_session(user, pair) | {"created": created})


@describe(
    "Verify an email address with its code",
    roles=PUBLIC,
    tag="accounts",
    body=s.VerifyEmailBody,
    response=Message,
    errors={
        400: "VALIDATION_ERROR, INVALID_JSON, CODE_INVALID, CODE_EXPIRED, CODE_ATTEMPTS_EXCEEDED.",
        429: "RATE_LIMITED (with Retry-After).",
    },
)
async def verify_email(request: web.Request) -> web.Response:
    data = await body(request, s.VerifyEmailBody)
    await limit(request, "code", data.email)
    async with transaction(request.app[POOL]) as conn:
        outcome = await users.verify_contact(
            conn, request.app[SETTINGS], email=data.email, code=data.code
        )
    codes.raise_for_outcome(outcome)  # after the commit: a wrong try stays counted
    return json_response({"message": "Email verified.", "email_verified": True})


@describe(
    "Verify a phone number with its code",
    roles=PUBLIC,
    tag="accounts",
    body=s.VerifyPhoneBody,
    response=Message,
    errors={
        400: "VALIDATION_ERROR, INVALID_JSON, CODE_INVALID, CODE_EXPIRED, CODE_ATTEMPTS_EXCEEDED.",
        429: "RATE_LIMITED (with Retry-After).",
    },
)
async def verify_phone(request: web.Request) -> web.Response:
    data = await body(request, s.VerifyPhoneBody)
    await limit(request, "code", data.phone_number)
    async with transaction(request.app[POOL]) as conn:
        outcome = await users.verify_contact(
            conn, request.app[SETTINGS], phone_number=data.phone_number, code=data.code
        )
    codes.raise_for_outcome(outcome)
    return json_response({"message": "Phone number verified.", "phone_verified": True})


@describe(
    "Send a new verification code (always 200)",
    roles=PUBLIC,
    tag="accounts",
    body=s.ResendBody,
    response=Message,
    errors={429: "RATE_LIMITED (with Retry-After)."},
)
async def resend_verification(request: web.Request) -> web.Response:
    data = await body(request, s.ResendBody)
    await limit(request, "code", data.email or data.phone_number)
    async with transaction(request.app[POOL]) as conn:
        await users.resend_verification(
            conn, request.app[SETTINGS], email=data.email, phone_number=data.phone_number
        )
    return json_response(
        {"message": "If the address belongs to an unverified account, a new code was sent."}
    )


@describe(
    "Ask for a password reset code (always 200)",
    roles=PUBLIC,
    tag="accounts",
    body=s.PasswordResetBody,
    response=Message,
    errors={429: "RATE_LIMITED (with Retry-After)."},
)
async def password_reset(request: web.Request) -> web.Response:
    data = await body(request, s.PasswordResetBody)
    await limit(request, "code", data.email)
    async with transaction(request.app[POOL]) as conn:
        await users.request_password_reset(conn, request.app[SETTINGS], email=data.email)
    return json_response(
        {"message": "If an account uses this email, a password reset code was sent."}
    )


@describe(
    "Set a new password with the reset code (ends every session)",
    roles=PUBLIC,
    tag="accounts",
    body=s.PasswordResetConfirmBody,
    response=Message,
    errors={
        400: "VALIDATION_ERROR, INVALID_JSON, CODE_INVALID, CODE_EXPIRED, CODE_ATTEMPTS_EXCEEDED.",
        429: "RATE_LIMITED (with Retry-After).",
    },
)
async def password_reset_confirm(request: web.Request) -> web.Response:
    data = await body(request, s.PasswordResetConfirmBody)
    await limit(request, "code", data.email)
    password_hash = await hash_password(data.new_password)
    async with transaction(request.app[POOL]) as conn:
        outcome = await users.confirm_password_reset(
            conn,
            request.app[SETTINGS],
            email=data.email,
            code=data.code,
            password_hash=password_hash,
        )
    codes.raise_for_outcome(outcome)
    return json_response({"message": "The password has been reset; please log in again."})


@describe(
    "Rotate a refresh token",
    roles=PUBLIC,
    tag="accounts",
    body=s.RefreshBody,
    response=Refreshed,
    errors={401: "TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED, TOKEN_REUSED (ends the session)."},
)
async def token_refresh(request: web.Request) -> web.Response:
    data = await body(request, s.RefreshBody)
    async with transaction(request.app[POOL]) as conn:
        rotation = await tokens.rotate_refresh_token(
            conn, request.app[SETTINGS].auth, refresh=data.refresh
        )
    pair = rotation.raise_for_outcome()  # after the commit: a detected reuse stays revoked
    return json_response({"access": pair.access, "access_token": pair.access, **pair.json()})


@describe(
    "Revoke a session (its access tokens included, in every process)",
    roles=PUBLIC,
    tag="accounts",
    body=s.RefreshBody,
    response=Message,
    errors={401: "TOKEN_INVALID, TOKEN_EXPIRED."},
)
async def logout(request: web.Request) -> web.Response:
    data = await body(request, s.RefreshBody)
    async with transaction(request.app[POOL]) as conn:
        await tokens.revoke_session(conn, request.app[SETTINGS].auth, refresh=data.refresh)
    return json_response({"message": "Logged out."})
