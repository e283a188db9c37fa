"""Test data: users of each role with positions, and the Authorization headers for them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import asyncpg

from dispatch.accounts.tokens import issue_access_token
from dispatch.core.config import Settings
from dispatch.positions.store import store_position

_numbers = itertools.count(1)


@dataclass(frozen=True)
class User:
    id: int
    role: str
    email: str
    phone_number: str


async def create_user(
    conn: asyncpg.Connection,
    *,
    role: str = "client",
    name: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    password_hash: str | None = None,
    service_type: str = "towing",
    vehicle_type: str = "light",
    is_active: bool = False,
    license_days: int = 365,
) -> User:
    """A user straight in the database (assistants get a profile), optionally with a position."""
    n = next(_numbers)
    email = f"{role}{n}@test.dispatch"
    phone = f"+2135{n:08d}"
    user_id = await conn.fetchval(
        """
        INSERT INTO dispatch.users (role, name, email, phone_number, password_hash)
        VALUES ($1, $2, $3, $4, $5) RETURNING id
        """,
        role,
        name or f"{role.title()} {n}",
        email,
        phone,
        password_hash,
    )
    if role == "assistant":
        await conn.execute(
            """
            INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type,
                driving_license_cat, driving_license_num, driving_license_expiry,
                vehicle_registration_num, is_active)
            VALUES ($1, $2, $3, 'c', $4, current_date + $5::int, $6, $7)
            """,
            user_id,
            service_type,
            vehicle_type,
            f"LIC-{n}",
            license_days,
            1000 + n,
            is_active,
        )
    if lat is not None and lng is not None:
        await store_position(conn, user_id=user_id, lat=lat, lng=lng)
    return User(id=user_id, role=role, email=email, phone_number=phone)


def auth_header(settings: Settings, user: User) -> dict[str, str]:
    token = issue_access_token(settings.auth, user_id=user.id, role=user.role)
    return {"Authorization": f"Bearer {token}"}


def token_of(settings: Settings, user: User) -> str:
    """The bare access token of `user` (for `?token=` on WebSockets)."""
    return auth_header(settings, user)["Authorization"].split(" ", 1)[1]
