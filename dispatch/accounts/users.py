"""Accounts: registration, logins, contact verification, password reset, profiles and positions."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from dispatch.accounts import codes
from dispatch.accounts.google import GoogleIdentity
from dispatch.accounts.outbox import enqueue
from dispatch.accounts.passwords import verify_password
from dispatch.accounts.tokens import TokenPair, revoke_all_sessions, start_session
from dispatch.core.config import Settings
from dispatch.core.db import connection, transaction
from dispatch.core.errors import (
    AuthenticationError,
    Conflict,
    PermissionDenied,
    register_constraint,
    register_sqlstate,
)
from dispatch.positions.store import store_position

register_constraint(
    "users_email_key", Conflict, "EMAIL_TAKEN", "An account with this email already exists."
)
register_constraint(
    "users_phone_number_key",
    Conflict,
    "PHONE_TAKEN",
    "An account with this phone number already exists.",
)
register_constraint(
    "users_google_sub_key", Conflict, "GOOGLE_ACCOUNT_TAKEN", "This Google account is linked."
)
register_sqlstate("DPA01", Conflict, "POSITION_REQUIRED")
register_sqlstate("DPA02", Conflict, "LICENSE_EXPIRED")
register_sqlstate("DPA03", PermissionDenied, "NOT_AN_ASSISTANT")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_JUNK = re.compile(r"[\s\-.()/]")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("Enter a valid email address.")
    return email


def normalise_phone(raw: str) -> str:
    """Spaces, dashes, dots and brackets dropped, a leading 00 read as +; 6 to 15 digits."""
    phone = _PHONE_JUNK.sub("", raw.strip())
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _PHONE.match(phone):
        raise ValueError("Enter a valid phone number (digits, optionally starting with +).")
    return phone


@dataclass(frozen=True)
class AssistantFields:
    service_type: str
    vehicle_type: str
    driving_license_cat: str
    driving_license_num: str
    driving_license_expiry: dt.date
    vehicle_registration_num: int


_PROFILE_SQL = """
SELECT u.id, u.role, u.name, u.email, u.phone_number, u.address, u.email_verified,
       u.phone_verified, u.created_at, u.updated_at,
       ST_Y(p.geog::geometry) AS lat, ST_X(p.geog::geometry) AS lng,
       p.updated_at AS position_updated_at,
       a.user_id IS NOT NULL AS has_assistant, a.service_type, a.vehicle_type,
       a.driving_license_cat, a.driving_license_num, a.driving_license_expiry,
       a.vehicle_registration_num, a.is_active
  FROM dispatch.users u
  LEFT JOIN dispatch.positions p ON p.user_id = u.id
  LEFT JOIN dispatch.assistants a ON a.user_id = u.id
 WHERE u.id = $1 AND NOT u.is_disabled
"""


def profile_json(r: asyncpg.Record) -> dict[str, Any]:
    """The user as both renditions name it (phone and phone_number, created_at and createdAt)."""
    out: dict[str, Any] = {
        "id": r["id"],
        "email": r["email"],
        "name": r["name"],
        "phone": r["phone_number"],
        "phone_number": r["phone_number"],
        "user_type": r["role"],
        "role": r["role"],
        "address": r["address"],
        "current_lat": r["lat"],
        "current_lng": r["lng"],
        "email_verified": r["email_verified"],
        "phone_verified": r["phone_verified"],
        "created_at": r["created_at"],
        "createdAt": r["created_at"],
        "updated_at": r["updated_at"],
        "updatedAt": r["updated_at"],
    }
    if r["has_assistant"]:
        out |= {
            "service_type": r["service_type"],
            "vehicle_type": r["vehicle_type"],
            "is_active_assistant": r["is_active"],
            "driving_license_cat": r["driving_license_cat"],
            "driving_license_num": r["driving_license_num"],
            "driving_license_expiry": r["driving_license_expiry"],
            "vehicle_registration_num": r["vehicle_registration_num"],
        }
    return out


async def get_profile(conn: asyncpg.Connection, *, user_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(_PROFILE_SQL, user_id)
    if row is None:
        # A valid token for an account that was since removed or disabled.
        raise AuthenticationError("The account no longer exists or is disabled.")
    return profile_json(row)


async def _send_code(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    user_id: int,
    purpose: codes.Purpose,
    target: str,
) -> None:
    code = await codes.issue_code(
        conn,
        secret=settings.auth.secret(),
        user_id=user_id,
        purpose=purpose,
        target=target,
        ttl=settings.accounts.code_ttl,
    )
    minutes = max(1, settings.accounts.code_ttl // 60)
    what = {
        "verify_email": "Your email verification code",
        "verify_phone": "Your phone verification code",
        "password_reset": "Your password reset code",
    }[purpose]
    await enqueue(
        conn,
        user_id=user_id,
        channel="sms" if purpose == "verify_phone" else "email",
        recipient=target,
        subject=what,
        body=f"{what} is {code}. It expires in {minutes} minutes.",
    )


async def register(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    role: str,
    name: str,
    email: str | None,
    phone_number: str,
    address: str,
    password_hash: str,
    assistant: AssistantFields | None,
    lat: float | None,
    lng: float | None,
) -> tuple[dict[str, Any], TokenPair]:
    """A new client or assistant with a session; a verification code queued per contact."""
    user_id: int = await conn.fetchval(
        """
        INSERT INTO dispatch.users (role, name, email, phone_number, address, password_hash)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
        """,
        role,
        name,
        email,
        phone_number,
        address,
        password_hash,
    )
    if assistant is not None:
        await conn.execute(
            """
            INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type,
                driving_license_cat, driving_license_num, driving_license_expiry,
                vehicle_registration_num)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            user_id,
            assistant.service_type,
            assistant.vehicle_type,
            assistant.driving_license_cat,
            assistant.driving_license_num,
            assistant.driving_license_expiry,
            assistant.vehicle_registration_num,
        )
    if lat is not None and lng is not None:
        await store_position(conn, user_id=user_id, lat=lat, lng=lng)
    if email:
        await _send_code(conn, settings, user_id=user_id, purpose="verify_email", target=email)
    await _send_code(conn, settings, user_id=user_id, purpose="verify_phone", target=phone_number)
    tokens = await start_session(conn, settings.auth, user_id=user_id, role=role)
    return await get_profile(conn, user_id=user_id), tokens


async def login_with_password(
    pool: Any,
    settings: Settings,
    *,
    email: str | None = None,
    phone_number: str | None = None,
    password: str,
) -> tuple[dict[str, Any], TokenPair]:
    """Check the password (off the event loop, no connection held) and open a session.

    Unknown accounts are checked against a dummy hash: the same answer in about the same time."""
    async with connection(pool) as conn:
        row = await conn.fetchrow(
            """
            SELECT id, role, password_hash, is_disabled FROM dispatch.users
             WHERE ($1::text IS NOT NULL AND email = $1)
                OR ($2::text IS NOT NULL AND phone_number = $2)
            """,
            email,
            phone_number,
        )
    ok = await verify_password(row["password_hash"] if row else None, password)
    if row is None or not ok or row["is_disabled"]:
        raise AuthenticationError("Invalid credentials.", code="INVALID_CREDENTIALS")
    async with transaction(pool) as conn:
        tokens = await start_session(conn, settings.auth, user_id=row["id"], role=row["role"])
        return await get_profile(conn, user_id=row["id"]), tokens


async def login_with_google(
    conn: asyncpg.Connection, settings: Settings, *, identity: GoogleIdentity
) -> tuple[dict[str, Any], TokenPair, bool]:
    """Log in the account linked to the Google subject or holding its (verified) email, or
    create a client; returns (profile, tokens, created)."""
    row = await conn.fetchrow(
        """
        SELECT id, role, is_disabled FROM dispatch.users
         WHERE google_sub = $1 OR email = $2
         ORDER BY (google_sub = $1) DESC NULLS LAST LIMIT 1
        """,
        identity.sub,
        identity.email,
    )
    created = row is None
    if row is None:
        user_id: int = await conn.fetchval(
            """
            INSERT INTO dispatch.users (role, name, email, google_sub, email_verified)
            VALUES ('client', $1, $2, $3, true) RETURNING id
            """,
            identity.name,
            identity.email,
            identity.sub,
        )
        role = "client"
    else:
        if row["is_disabled"]:
            raise AuthenticationError("Invalid credentials.", code="INVALID_CREDENTIALS")
        user_id, role = row["id"], row["role"]
        # Google vouches for the address, so linking it verifies it too.
        await conn.execute(
            """
            UPDATE dispatch.users
               SET google_sub = coalesce(google_sub, $2),
                   email_verified = email_verified OR email = $3
             WHERE id = $1
            """,
            user_id,
            identity.sub,
            identity.email,
        )
    tokens = await start_session(conn, settings.auth, user_id=user_id, role=role)
    return await get_profile(conn, user_id=user_id), tokens, created


async def _user_id_by(
    conn: asyncpg.Connection, *, email: str | None = None, phone_number: str | None = None
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT id, email, phone_number, email_verified, phone_verified FROM dispatch.users
         WHERE NOT is_disabled
           AND (($1::text IS NOT NULL AND email = $1) OR ($2::text IS NOT NULL AND phone_number = $2))
        """,
        email,
        phone_number,
    )


async def verify_contact(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    email: str | None = None,
    phone_number: str | None = None,
    code: str,
) -> codes.Outcome:
    """Check the verification code of an email or phone; on success mark it verified."""
    purpose: codes.Purpose = "verify_email" if email is not None else "verify_phone"
    row = await _user_id_by(conn, email=email, phone_number=phone_number)
    outcome = await codes.check_code(
        conn,
        secret=settings.auth.secret(),
        user_id=row["id"] if row else None,
        purpose=purpose,
        code=code,
        max_attempts=settings.accounts.code_max_attempts,
    )
    if outcome == "ok" and row is not None:
        column = "email_verified" if purpose == "verify_email" else "phone_verified"
        await conn.execute(
            f"UPDATE dispatch.users SET {column} = true, updated_at = now() WHERE id = $1",  # noqa: S608 - column from a fixed pair
            row["id"],
        )
    return outcome


async def resend_verification(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    email: str | None = None,
    phone_number: str | None = None,
) -> None:
    """Queue a new code when the contact belongs to an account and is still unverified; silent
    otherwise, so the answer never tells whether an account exists."""
    row = await _user_id_by(conn, email=email, phone_number=phone_number)
    if row is None:
        return
    if email is not None and not row["email_verified"]:
        await _send_code(conn, settings, user_id=row["id"], purpose="verify_email", target=email)
    elif phone_number is not None and not row["phone_verified"]:
        await _send_code(
            conn, settings, user_id=row["id"], purpose="verify_phone", target=phone_number
        )


async def request_password_reset(
    conn: asyncpg.Connection, settings: Settings, *, email: str
) -> None:
    """Queue a reset code when the email belongs to an account; silent otherwise."""
    row = await _user_id_by(conn, email=email)
    if row is not None:
        await _send_code(conn, settings, user_id=row["id"], purpose="password_reset", target=email)


async def confirm_password_reset(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    email: str,
    code: str,
    password_hash: str,
) -> codes.Outcome:
    """Check the reset code; on success set the password and revoke every refresh token."""
    row = await _user_id_by(conn, email=email)
    outcome = await codes.check_code(
        conn,
        secret=settings.auth.secret(),
        user_id=row["id"] if row else None,
        purpose="password_reset",
        code=code,
        max_attempts=settings.accounts.code_max_attempts,
    )
    if outcome == "ok" and row is not None:
        # The code reached the inbox, which proves the address too.
        await conn.execute(
            """
            UPDATE dispatch.users
               SET password_hash = $2, email_verified = true, updated_at = now()
             WHERE id = $1
            """,
            row["id"],
            password_hash,
        )
        await revoke_all_sessions(conn, user_id=row["id"])
    return outcome


_USER_COLUMNS = ("name", "email", "phone_number", "address")
_ASSISTANT_COLUMNS = (
    "service_type",
    "vehicle_type",
    "driving_license_cat",
    "driving_license_num",
    "driving_license_expiry",
    "vehicle_registration_num",
)


async def update_profile(
    conn: asyncpg.Connection, settings: Settings, *, user_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply the given changes (user and, for assistants, profile fields). A changed email or
    phone becomes unverified and gets a new code."""
    current = await conn.fetchrow(
        "SELECT email, phone_number FROM dispatch.users WHERE id = $1 FOR UPDATE", user_id
    )
    if current is None:
        raise AuthenticationError("The account no longer exists or is disabled.")
    user = {k: v for k, v in changes.items() if k in _USER_COLUMNS}
    new_email = user.get("email") if user.get("email") != current["email"] else None
    new_phone = (
        user.get("phone_number") if user.get("phone_number") != current["phone_number"] else None
    )
    await conn.execute(
        """
        UPDATE dispatch.users
           SET name = coalesce($2, name),
               email = coalesce($3, email),
               phone_number = coalesce($4, phone_number),
               address = coalesce($5, address),
               email_verified = email_verified AND $3::text IS NULL,
               phone_verified = phone_verified AND $4::text IS NULL,
               updated_at = now()
         WHERE id = $1
        """,
        user_id,
        user.get("name"),
        new_email,
        new_phone,
        user.get("address"),
    )
    assistant = {k: v for k, v in changes.items() if k in _ASSISTANT_COLUMNS}
    if assistant:
        await conn.execute(
            """
            UPDATE dispatch.assistants
               SET service_type = coalesce($2, service_type),
                   vehicle_type = coalesce($3, vehicle_type),
                   driving_license_cat = coalesce($4, driving_license_cat),
                   driving_license_num = coalesce($5, driving_license_num),
                   driving_license_expiry = coalesce($6, driving_license_expiry),
                   vehicle_registration_num = coalesce($7, vehicle_registration_num),
                   updated_at = now()
             WHERE user_id = $1
            """,
            user_id,
            *(assistant.get(column) for column in _ASSISTANT_COLUMNS),
        )
    if new_email:
        await _send_code(conn, settings, user_id=user_id, purpose="verify_email", target=new_email)
    if new_phone:
        await _send_code(conn, settings, user_id=user_id, purpose="verify_phone", target=new_phone)
    return await get_profile(conn, user_id=user_id)


async def set_location(
    conn: asyncpg.Connection, *, user_id: int, lat: float, lng: float
) -> dict[str, Any]:
    """Store the user's current position (with H3 cells) and append it to the history."""
    if not await conn.fetchval(
        "SELECT true FROM dispatch.users WHERE id = $1 AND NOT is_disabled", user_id
    ):
        raise AuthenticationError("The account no longer exists or is disabled.")
    await store_position(conn, user_id=user_id, lat=lat, lng=lng)
    row = await conn.fetchrow(
        """
        SELECT ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lng, h3_r9, updated_at
          FROM dispatch.positions WHERE user_id = $1
        """,
        user_id,
    )
    return {
        "user_id": user_id,
        "lat": row["lat"],
        "lng": row["lng"],
        "latitude": row["lat"],
        "longitude": row["lng"],
        "current_lat": row["lat"],
        "current_lng": row["lng"],
        "h3_cell": format(row["h3_r9"], "x"),
        "updated_at": row["updated_at"],
        "updatedAt": row["updated_at"],
    }


async def set_assistant_active(conn: asyncpg.Connection, *, user_id: int, active: bool) -> bool:
    result: bool = await conn.fetchval(
        "SELECT dispatch.set_assistant_active(assistant_id => $1, active => $2)", user_id, active
    )
    return result


async def active_assistants(
    conn: asyncpg.Connection,
    *,
    caller_id: int,
    lat: float | None,
    lng: float | None,
    service_type: str | None,
    radius_km: float | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Active assistants soonest first (road time where a graph covers the origin, else the
    straight line) from the given point, else from the caller's position."""
    if lat is None or lng is None:
        own = await conn.fetchrow(
            """
            SELECT ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lng
              FROM dispatch.positions WHERE user_id = $1
            """,
            caller_id,
        )
        if own is not None:
            lat, lng = own["lat"], own["lng"]
    rows = await conn.fetch(
        """
        SELECT * FROM dispatch.active_assistants_near(
            origin_lat => $1, origin_lng => $2, wanted_service => $3, radius_m => $4,
            max_results => $5, exclude_user_id => $6)
        """,
        lat,
        lng,
        service_type,
        radius_km * 1000 if radius_km is not None else None,
        limit,
        caller_id,
    )
    return [
        {
            "id": r["assistant_id"],
            "assistant_id": r["assistant_id"],
            "name": r["name"],
            "service_type": r["service_type"],
            "vehicle_type": r["vehicle_type"],
            "is_active_assistant": True,
            "current_lat": r["lat"],
            "current_lng": r["lng"],
            "lat": r["lat"],
            "lng": r["lng"],
            "distance": round(r["distance_m"] / 1000, 3) if r["distance_m"] is not None else None,
            "eta_s": r["eta_s"],
            "eta_source": r["eta_source"],
            "position_updated_at": r["position_updated_at"],
        }
        for r in rows
    ]


async def create_dispatcher(
    conn: asyncpg.Connection, *, email: str, phone_number: str, name: str, password_hash: str
) -> int:
    """A dispatcher account (never self-registered), with its contacts taken as verified."""
    user_id: int = await conn.fetchval(
        """
        INSERT INTO dispatch.users (role, name, email, phone_number, password_hash,
                                    email_verified, phone_verified)
        VALUES ('dispatcher', $1, $2, $3, $4, true, true) RETURNING id
        """,
        name,
        email,
        phone_number,
        password_hash,
    )
    return user_id
