"""JWT access tokens: issue and decode, with the claims sub, role, typ, jti, iat, exp (and iss)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from dispatch.config import AuthSettings
from dispatch.errors import AuthenticationError

ALGORITHM = "HS256"
ROLES = ("client", "assistant", "dispatcher")


@dataclass(frozen=True)
class CurrentUser:
    """Who is calling, as their access token says."""

    id: int
    role: str
    jti: str


def issue_access_token(settings: AuthSettings, *, user_id: int, role: str) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + settings.access_ttl,
        "iss": settings.issuer,
    }
    return jwt.encode(claims, settings.secret(), algorithm=ALGORITHM)


def decode_token(settings: AuthSettings, token: str, *, typ: str) -> dict[str, Any]:
    """The verified claims of a token of the given type; AuthenticationError otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret(),
            algorithms=[ALGORITHM],
            issuer=settings.issuer,
            options={"require": ["sub", "typ", "jti", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("The token has expired.", code="TOKEN_EXPIRED") from None
    except jwt.InvalidTokenError:
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID") from None
    if claims.get("typ") != typ:
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID")
    return claims


def user_from_claims(claims: dict[str, Any]) -> CurrentUser:
    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID") from None
    role = claims.get("role")
    if role not in ROLES:
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID")
    return CurrentUser(id=user_id, role=str(role), jti=str(claims["jti"]))
