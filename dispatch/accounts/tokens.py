"""JWT access and refresh tokens: claims sub, role, typ, jti, iat, exp (and iss); refresh sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import jwt

from dispatch.core.config import AuthSettings
from dispatch.core.errors import AuthenticationError
from dispatch.core.ids import parse_id

ALGORITHM = "HS256"
ROLES = ("client", "assistant", "dispatcher")


@dataclass(frozen=True)
class CurrentUser:
    """Who is calling, as their access token says."""

    id: int
    role: str
    jti: str


def issue_access_token(
    settings: AuthSettings, *, user_id: int, role: str, family: str | None = None
) -> str:
    """A signed access token; `family` ties it to a login session so logout can revoke it."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + settings.access_ttl,
        "iss": settings.issuer,
    }
    if family:
        claims["fam"] = family
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
    user_id = parse_id(claims.get("sub"))
    if user_id is None or not isinstance(claims.get("exp"), int | float):
        # A subject beyond a bigint would overflow in the database; a token without an expiry
        # would live forever (aiohttp-jwt verifies `exp` only when present).
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID")
    role = claims.get("role")
    if role not in ROLES:
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID")
    return CurrentUser(id=user_id, role=str(role), jti=str(claims["jti"]))


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str

    def json(self) -> dict[str, str]:
        return {"access": self.access, "refresh": self.refresh}


def _refresh_token(settings: AuthSettings, *, user_id: int, role: str, family: str) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": "refresh",
        "jti": uuid.uuid4().hex,
        "fam": family,
        "iat": now,
        "exp": now + settings.refresh_ttl,
        "iss": settings.issuer,
    }
    return jwt.encode(claims, settings.secret(), algorithm=ALGORITHM)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _expiry(settings: AuthSettings) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.refresh_ttl)


async def start_session(
    conn: asyncpg.Connection, settings: AuthSettings, *, user_id: int, role: str
) -> TokenPair:
    """A new login session: an access token and the first refresh token of a new family."""
    family = uuid.uuid4()
    refresh = _refresh_token(settings, user_id=user_id, role=role, family=family.hex)
    await conn.execute(
        """
        INSERT INTO dispatch.refresh_tokens (user_id, family_id, token_hash, expires_at)
        VALUES ($1, $2, $3, $4)
        """,
        user_id,
        family,
        token_hash(refresh),
        _expiry(settings),
    )
    access = issue_access_token(settings, user_id=user_id, role=role, family=family.hex)
    return TokenPair(access, refresh)


_REFUSALS = {
    "reused": ("The refresh token was already used; the session has been ended.", "TOKEN_REUSED"),
    "revoked": ("The refresh token has been revoked.", "TOKEN_REVOKED"),
    "expired": ("The token has expired.", "TOKEN_EXPIRED"),
    "disabled": ("The token is invalid.", "TOKEN_INVALID"),
    "unknown": ("The token is invalid.", "TOKEN_INVALID"),
}


@dataclass(frozen=True)
class Rotation:
    """The outcome of presenting a refresh token: new tokens, or why it was refused."""

    outcome: str
    tokens: TokenPair | None = None

    def raise_for_outcome(self) -> TokenPair:
        """The new tokens; 401 otherwise. Call it after the transaction has committed, so a
        detected reuse keeps the family revoked."""
        if self.tokens is None:
            message, code = _REFUSALS.get(self.outcome, _REFUSALS["unknown"])
            raise AuthenticationError(message, code=code)
        return self.tokens


async def rotate_refresh_token(
    conn: asyncpg.Connection, settings: AuthSettings, *, refresh: str
) -> Rotation:
    """Exchange a refresh token for a new pair; a reused one revokes its whole family."""
    claims = decode_token(settings, refresh, typ="refresh")
    user = user_from_claims(claims)
    successor = _refresh_token(
        settings, user_id=user.id, role=user.role, family=str(claims.get("fam", ""))
    )
    outcome: str = await conn.fetchval(
        """
        SELECT dispatch.rotate_refresh_token(old_hash => $1, new_hash => $2,
                                             new_expires_at => $3)
        """,
        token_hash(refresh),
        token_hash(successor),
        _expiry(settings),
    )
    if outcome != "ok":
        return Rotation(outcome)
    access = issue_access_token(
        settings, user_id=user.id, role=user.role, family=str(claims.get("fam") or "") or None
    )
    return Rotation(outcome, TokenPair(access, successor))


async def revoke_session(conn: asyncpg.Connection, settings: AuthSettings, *, refresh: str) -> None:
    """Logout: revoke the refresh token's family (its session). An expired token is accepted."""
    try:
        claims = jwt.decode(
            refresh,
            settings.secret(),
            algorithms=[ALGORITHM],
            issuer=settings.issuer,
            options={"verify_exp": False, "require": ["sub", "typ", "jti"]},
        )
    except jwt.InvalidTokenError:
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID") from None
    if claims.get("typ") != "refresh":
        raise AuthenticationError("The token is invalid.", code="TOKEN_INVALID")
    await conn.execute(
        """
        UPDATE dispatch.refresh_tokens SET revoked_at = now()
         WHERE family_id = (SELECT family_id FROM dispatch.refresh_tokens WHERE token_hash = $1)
           AND revoked_at IS NULL
        """,
        token_hash(refresh),
    )


async def revoke_all_sessions(conn: asyncpg.Connection, *, user_id: int) -> None:
    await conn.execute(
        """
        UPDATE dispatch.refresh_tokens SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL
        """,
        user_id,
    )


async def access_revoked(conn: asyncpg.Connection, claims: dict[str, Any]) -> bool:
    """Whether an otherwise valid access token is revoked: its session was ended (logout,
    password reset, refresh reuse) or its user is disabled or gone."""
    family = claims.get("fam")
    user_id = parse_id(claims.get("sub"))
    try:
        family_id = uuid.UUID(family) if family else None
    except (ValueError, TypeError, AttributeError):
        return True
    if user_id is None:
        return True
    revoked: bool = await conn.fetchval(
        "SELECT dispatch.access_revoked(user_id => $1, family_id => $2)", user_id, family_id
    )
    return revoked
