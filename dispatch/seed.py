"""A small demo data set around Algiers: one client and a handful of assistants (idempotent)."""

from __future__ import annotations

import asyncpg

from dispatch.auth.passwords import hash_password_sync
from dispatch.demo_fleet import DEMO_VEHICLES, DEMO_ZONES, seed_fleet
from dispatch.positions import store_position

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published demo credentials, documented in the README

# (name, email, phone, service, vehicle, lat, lng)
DEMO_ASSISTANTS = [
    ("Karim Tow", "karim@demo.dispatch", "+213550000001", "towing", "light", 36.7538, 3.0588),
    ("Nadia Tow", "nadia@demo.dispatch", "+213550000002", "towing", "heavy", 36.7650, 3.0500),
    ("Yacine Tow", "yacine@demo.dispatch", "+213550000003", "towing", "light", 36.7400, 3.0800),
    ("Samir Fix", "samir@demo.dispatch", "+213550000004", "repair", "light", 36.7480, 3.0650),
    ("Lina Fix", "lina@demo.dispatch", "+213550000005", "repair", "light", 36.7300, 3.1000),
]
DEMO_CLIENT = ("Amel Client", "client@demo.dispatch", "+213660000001", 36.7525, 3.0420)


async def _user(conn: asyncpg.Connection, role: str, name: str, email: str, phone: str) -> int:
    user_id: int = await conn.fetchval(
        """
        INSERT INTO dispatch.users (role, name, email, phone_number, password_hash,
                                    email_verified, phone_verified)
        VALUES ($1, $2, $3, $4, $5, true, true)
        ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name
        RETURNING id
        """,
        role,
        name,
        email,
        phone,
        hash_password_sync(DEMO_PASSWORD),
    )
    return user_id


async def seed_demo(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            name, email, phone, lat, lng = DEMO_CLIENT
            client_id = await _user(conn, "client", name, email, phone)
            await store_position(conn, user_id=client_id, lat=lat, lng=lng)
            for name, email, phone, service, vehicle, lat, lng in DEMO_ASSISTANTS:
                uid = await _user(conn, "assistant", name, email, phone)
                await conn.execute(
                    """
                    INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type,
                        driving_license_cat, driving_license_num, driving_license_expiry,
                        vehicle_registration_num, is_active)
                    VALUES ($1, $2, $3, 'c', $4, current_date + 365, $5, true)
                    ON CONFLICT (user_id) DO NOTHING
                    """,
                    uid,
                    service,
                    vehicle,
                    f"DZ-{uid:06d}",
                    100000 + uid,
                )
                await store_position(conn, user_id=uid, lat=lat, lng=lng)
            await seed_fleet(conn, client_id=client_id)
    finally:
        await conn.close()
    return (
        f"demo data ready: client {DEMO_CLIENT[1]} and {len(DEMO_ASSISTANTS)} assistants "
        f"(password {DEMO_PASSWORD!r}), {len(DEMO_ZONES)} service zones, "
        f"{len(DEMO_VEHICLES)} vehicles of the client"
    )
