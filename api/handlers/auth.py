"""Accounts: registration, the three logins, codes, password reset, token refresh and logout."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.accounts_setup import GOOGLE
from api.keys import POOL, SETTINGS
from api.ratelimit import limit
from api.responses import json_response
from api.schemas import accounts as s
from api.schemas.validation import body
from dispatch import accounts
from dispatch.auth import codes, tokens
from dispatch.auth.passwords import hash_password
from dispatch.db import transaction


def _session(user: dict[str, Any], pair: tokens.TokenPair) -> dict[str, Any]:
    # The contract's {"user", "tokens"}, plus the tokens at the top level for seed-000 clients.
    return {"user": user, "tokens": pair.json(), **pair.json()}


async def register(request: web.Request) -> web.Response:
    data = await body(request, s.RegisterBody)
    await limit(request, "register")
    password_hash = await hash_password(data.password)
    async with transaction(request.app[POOL]) as conn:
        user, pair = await accounts.register(
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


async def login_email(request: web.Request) -> web.Response:
    data = await body(request, s.EmailLoginBody)
    await limit(request, "login", data.email)
    user, pair = await accounts.login_with_password(
        request.app[POOL], request.app[SETTINGS], email=data.email, password=data.password
    )
    return json_response(_session(user, pair))


async def login_phone(request: web.Request) -> web.Response:
    data = await body(request, s.PhoneLoginBody)
    await limit(request, "login", data.phone_number)
    user, pair = await accounts.login_with_password(
        request.app[POOL],
        request.app[SETTINGS],
        phone_number=data.phone_number,
        password=data.password,
    )
    return json_response(_session(user, pair))


async def login_google(request: web.Request) -> web.Response:
    data = await body(request, s.GoogleLoginBody)
    await limit(request, "login")
    identity = await request.app[GOOGLE].verify(data.token)
    async with transaction(request.app[POOL]) as conn:
        user, pair, created = await accounts.login_with_google(
            conn, request.app[SETTINGS], identity=identity
        )
    return json_response(_session(user, pair) | {"created": created})


async def verify_email(request: web.Request) -> web.Response:
    data = await body(request, s.VerifyEmailBody)
    await limit(request, "code", data.email)
    async with transaction(request.app[POOL]) as conn:
        outcome = await accounts.verify_contact(
            conn, request.app[SETTINGS], email=data.email, code=data.code
        )
    codes.raise_for_outcome(outcome)  # after the commit: a wrong try stays counted
    return json_response({"message": "Email verified.", "email_verified": True})


async def verify_phone(request: web.Request) -> web.Response:
    data = await body(request, s.VerifyPhoneBody)
    await limit(request, "code", data.phone_number)
    async with transaction(request.app[POOL]) as conn:
        outcome = await accounts.verify_contact(
            conn, request.app[SETTINGS], phone_number=data.phone_number, code=data.code
        )
    codes.raise_for_outcome(outcome)
    return json_response({"message": "Phone number verified.", "phone_verified": True})


async def resend_verification(request: web.Request) -> web.Response:
    data = await body(request, s.ResendBody)
    await limit(request, "code", data.email or data.phone_number)
    async with transaction(request.app[POOL]) as conn:
        await accounts.resend_verification(
            conn, request.app[SETTINGS], email=data.email, phone_number=data.phone_number
        )
    return json_response(
        {"message": "If the address belongs to an unverified account, a new code was sent."}
    )


async def password_reset(request: web.Request) -> web.Response:
    data = await body(request, s.PasswordResetBody)
    await limit(request, "code", data.email)
    async with transaction(request.app[POOL]) as conn:
        await accounts.request_password_reset(conn, request.app[SETTINGS], email=data.email)
    return json_response(
        {"message": "If an account uses this email, a password reset code was sent."}
    )


async def password_reset_confirm(request: web.Request) -> web.Response:
    data = await body(request, s.PasswordResetConfirmBody)
    await limit(request, "code", data.email)
    password_hash = await hash_password(data.new_password)
    async with transaction(request.app[POOL]) as conn:
        outcome = await accounts.confirm_password_reset(
            conn,
            request.app[SETTINGS],
            email=data.email,
            code=data.code,
            password_hash=password_hash,
        )
    codes.raise_for_outcome(outcome)
    return json_response({"message": "The password has been reset; please log in again."})


async def token_refresh(request: web.Request) -> web.Response:
    data = await body(request, s.RefreshBody)
    async with transaction(request.app[POOL]) as conn:
        rotation = await tokens.rotate_refresh_token(
            conn, request.app[SETTINGS].auth, refresh=data.refresh
        )
    pair = rotation.raise_for_outcome()  # after the commit: a detected reuse stays revoked
    return json_response({"access": pair.access, "access_token": pair.access, **pair.json()})


async def logout(request: web.Request) -> web.Response:
    data = await body(request, s.RefreshBody)
    async with transaction(request.app[POOL]) as conn:
        await tokens.revoke_session(conn, request.app[SETTINGS].auth, refresh=data.refresh)
    return json_response({"message": "Logged out."})
