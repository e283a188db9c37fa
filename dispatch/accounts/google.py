"""Google sign-in: verify an ID token's RS256 signature (JWKS from a file or URL) and its claims."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from dispatch.core.config import AccountsSettings
from dispatch.core.errors import AuthenticationError, ServiceUnavailable

log = logging.getLogger(__name__)

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
_CACHE_SECONDS = 3600.0
_REFETCH_AFTER = 60.0  # an unknown key id triggers a refetch, at most this often
_LEEWAY = 10  # seconds of clock skew tolerated on exp/iat


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    name: str


def _invalid(message: str = "The Google token is invalid.") -> AuthenticationError:
    return AuthenticationError(message, code="GOOGLE_TOKEN_INVALID")


class GoogleVerifier:
    """Verifies Google ID tokens for the configured client id; keys cached between calls."""

    def __init__(self, settings: AccountsSettings) -> None:
        self._client_id = settings.google_client_id
        self._file = settings.google_jwks_file
        self._url = settings.google_jwks_url
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._client_id and (self._file or self._url))

    async def _load(self) -> dict[str, Any]:
        if self._file:
            text = await asyncio.to_thread(Path(self._file).read_text)
            data = json.loads(text)
        else:
            timeout = aiohttp.ClientTimeout(total=5)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self._url) as resp,
            ):
                resp.raise_for_status()
                data = await resp.json(content_type=None)
        keys: dict[str, Any] = {}
        for jwk in jwt.PyJWKSet.from_dict(data).keys:
            if jwk.key_id:
                keys[jwk.key_id] = jwk.key
        return keys

    async def _key(self, kid: str) -> Any:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age > _CACHE_SECONDS or (kid not in self._keys and age > _REFETCH_AFTER)
            if not self._keys or stale:
                try:
                    self._keys = await self._load()
                except (OSError, ValueError, aiohttp.ClientError, jwt.PyJWTError) as exc:
                    log.error("cannot load Google signing keys: %s", type(exc).__name__)
                    raise ServiceUnavailable(
                        "Google sign-in is temporarily unavailable.", code="GOOGLE_UNAVAILABLE"
                    ) from None
                self._fetched_at = time.monotonic()
        if kid not in self._keys:
            raise _invalid()
        return self._keys[kid]

    async def verify(self, token: str) -> GoogleIdentity:
        if not self.configured:
            raise ServiceUnavailable(
                "Google sign-in is not configured on this server.", code="GOOGLE_NOT_CONFIGURED"
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid() from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise _invalid()
        key = await self._key(header["kid"])
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=ISSUERS,
                leeway=_LEEWAY,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError(
                "The Google token has expired.", code="GOOGLE_TOKEN_EXPIRED"
            ) from None
        except jwt.PyJWTError:
            raise _invalid() from None
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise _invalid("The Google token carries no email address.")
        if claims.get("email_verified") not in (True, "true"):
            raise AuthenticationError(
                "The Google account's email address is not verified.",
                code="GOOGLE_EMAIL_UNVERIFIED",
            )
        name = claims.get("name")
        return GoogleIdentity(
            sub=str(claims["sub"]),
            email=email.strip().lower(),
            name=name.strip()[:150] if isinstance(name, str) else "",
        )
