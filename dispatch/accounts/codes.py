"""One-time codes: 6 digits, stored as an HMAC, expiring, single use, with a cap on wrong tries."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

import asyncpg

from dispatch.core.errors import ValidationError

Purpose = Literal["verify_email", "verify_phone", "password_reset"]
Outcome = Literal["ok", "invalid", "expired", "exhausted"]


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_hash(secret: str, *, user_id: int, purpose: str, code: str) -> bytes:
    """Keyed so that a leaked table cannot be brute-forced offline over the million codes."""
    message = f"{user_id}:{purpose}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


async def issue_code(
    conn: asyncpg.Connection,
    *,
    secret: str,
    user_id: int,
    purpose: Purpose,
    target: str,
    ttl: int,
) -> str:
    """A fresh code for the user and purpose (superseding any live one); returns it in clear."""
    code = new_code()
    await conn.execute(
        """
        UPDATE dispatch.one_time_codes SET consumed_at = now()
         WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL
        """,
        user_id,
        purpose,
    )
    await conn.execute(
        """
        INSERT INTO dispatch.one_time_codes (user_id, purpose, target, code_hash, expires_at)
        VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
        """,
        user_id,
        purpose,
        target,
        code_hash(secret, user_id=user_id, purpose=purpose, code=code),
        ttl,
    )
    return code


async def check_code(
    conn: asyncpg.Connection,
    *,
    secret: str,
    user_id: int | None,
    purpose: Purpose,
    code: str,
    max_attempts: int,
) -> Outcome:
    """Check (and on success consume) the user's live code; a wrong try is counted."""
    if user_id is None:
        return "invalid"
    outcome: Outcome = await conn.fetchval(
        """
        SELECT dispatch.check_code(for_user => $1, for_purpose => $2, given_hash => $3,
                                   max_attempts => $4)
        """,
        user_id,
        purpose,
        code_hash(secret, user_id=user_id, purpose=purpose, code=code),
        max_attempts,
    )
    return outcome


def raise_for_outcome(outcome: Outcome) -> None:
    """The client error for a failed check; call it after the transaction that counted the try
    has committed, so wrong tries are remembered."""
    if outcome == "ok":
        return
    if outcome == "exhausted":
        raise ValidationError(
            "Too many wrong tries for this code; request a new one.",
            code="CODE_ATTEMPTS_EXCEEDED",
            fields={"code": ["Too many wrong tries; request a new code."]},
        )
    if outcome == "expired":
        raise ValidationError(
            "The code has expired; request a new one.",
            code="CODE_EXPIRED",
            fields={"code": ["The code has expired."]},
        )
    raise ValidationError(
        "The code is invalid.", code="CODE_INVALID", fields={"code": ["The code is invalid."]}
    )
