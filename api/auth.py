"""Request authentication: the Bearer check (aiohttp-jwt) and the role guard handlers call."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_jwt import JWTMiddleware

from api.keys import POOL, REVOCATIONS
from dispatch.accounts.tokens import ALGORITHM, CurrentUser, user_from_claims
from dispatch.core import db
from dispatch.core.config import AuthSettings
from dispatch.core.errors import AuthenticationError, PermissionDenied

CLAIMS = "jwt_claims"  # where aiohttp-jwt stores the verified claims on the request
# Paths whose Bearer token is not a JWT (DISPATCH_METRICS_TOKEN): aiohttp-jwt's whitelist.
NOT_JWT = (r"/metrics/?$",)
_NOT_JWT = re.compile("|".join(NOT_JWT))  # matched on every request: compiled once

# aiohttp-jwt logs every refused token with a stack trace; our own middleware reports refusals.
logging.getLogger("aiohttp_jwt").setLevel(logging.CRITICAL)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token(request: web.Request) -> str | None:
    """The token from `Authorization: Bearer …`, or None when there is no such header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


class VerifiedTokens:
    """The tokens this process has verified (signature, issuer, expiry), with their claims, until
    they expire. A client sends the same access token on every call, and PyJWT's checks cost
    ~120 us a request on this machine (its base64 and header validation in pure Python), more
    than the rest of the authentication; a token found here skips them. Only what aiohttp-jwt
    accepted is ever stored, an entry is dropped once its `exp` passes (the token then takes the
    full check, which refuses it), and revocation is still checked on every request."""

    def __init__(self, max_entries: int = 10_000) -> None:  # ~14 MiB at most
        self._claims: dict[str, dict[str, Any]] = {}
        self._max = max_entries

    def get(self, token: str) -> dict[str, Any] | None:
        claims = self._claims.get(token)
        if claims is not None and claims["exp"] <= time.time():
            del self._claims[token]
            return None
        return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        if not isinstance(claims.get("exp"), int | float):
            return  # refused later (user_from_claims); never kept
        if len(self._claims) >= self._max:
            self._claims.clear()
        self._claims[token] = claims


def jwt_middlewares(settings: AuthSettings) -> list[Middleware]:
    """aiohttp-jwt verifies signature, expiry and issuer of any Bearer token sent (once per token
    and process: see VerifiedTokens); the wrapper turns its refusals (401 or 403 HTTP exceptions)
    into the contract's 401 error."""

    inner = JWTMiddleware(
        settings.secret(),
        request_property=CLAIMS,
        credentials_required=False,  # public routes exist; handlers demand a user via require()
        whitelist=NOT_JWT,
        token_getter=bearer_token,
        is_revoked=is_revoked,
        algorithms=[ALGORITHM],
        issuer=settings.issuer,
    )

    verified = VerifiedTokens()

    @web.middleware
    async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
        token = None if _NOT_JWT.match(request.path) else bearer_token(request)
        claims = verified.get(token) if token else None
        if claims is not None:
            if await is_revoked(request, claims):
                raise AuthenticationError("The token has been revoked.", code="TOKEN_REVOKED")
            request[CLAIMS] = claims
            return await handler(request)

        async def remember(request: web.Request) -> web.StreamResponse:
            accepted = request.get(CLAIMS)
            if token and accepted is not None:
                verified.put(token, accepted)
            return await handler(request)

        try:
            return await inner(request, remember)
        except (web.HTTPUnauthorized, web.HTTPForbidden) as exc:
            if CLAIMS in request:
                raise  # raised by a handler, not by the token check
            reason = (exc.reason or "").lower()
            if "revoked" in reason:
                raise AuthenticationError(
                    "The token has been revoked.", code="TOKEN_REVOKED"
                ) from None
            expired = "expired" in reason
            raise AuthenticationError(
                "The token has expired." if expired else "The token is invalid.",
                code="TOKEN_EXPIRED" if expired else "TOKEN_INVALID",
            ) from None

    return [refusals]


async def is_revoked(request: web.Request, claims: dict[str, Any]) -> bool:
    """aiohttp-jwt's revocation hook (see dispatch/accounts/revocation.py for the cache)."""
    if claims.get("typ") != "access":
        return False  # refused later by current_user(); no lookup needed
    user_from_claims(claims)  # 401 for a token without `exp` or with an out-of-range `sub`
    return await token_revoked(request.app, claims)


async def token_revoked(app: web.Application, claims: dict[str, Any]) -> bool:
    pool = app[POOL]
    return await app[REVOCATIONS].revoked(lambda: db.connection(pool), claims)


def current_user(request: web.Request) -> CurrentUser:
    """The authenticated caller; 401 when the request carries no valid access token."""
    claims = request.get(CLAIMS)
    if not claims:
        raise AuthenticationError()
    if claims.get("typ") != "access":
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID")
    return user_from_claims(claims)


def require(request: web.Request, *roles: str) -> CurrentUser:
    """The caller, who must hold one of `roles` (403 otherwise); any role when none given."""
    user = current_user(request)
    if roles and user.role not in roles:
        raise PermissionDenied()
    return user
