"""A small demo data set around Algiers: clients, assistants, a dispatcher, a few hours of history
and two open requests (idempotent)."""

from __future__ import annotations

import functools
import random

import asyncpg

from dispatch.accounts.passwords import hash_password_sync
from dispatch.assistance.lifecycle import Point, request_assistance
from dispatch.core import db
from dispatch.demo.fleet import DEMO_VEHICLES, DEMO_ZONES, seed_fleet
from dispatch.demo.history import seed_history
from dispatch.positions.store import store_position

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published demo credentials, documented in the README

# (name, email, phone, service, vehicle, lat, lng)
DEMO_ASSISTANTS = [
    ("Karim Tow", "karim@demo.dispatch", "+213550000001", "towing", "light", 36.7538, 3.0588),
    ("Nadia Tow", "nadia@demo.dispatch", "+213550000002", "towing", "heavy", 36.7650, 3.0500),
    ("Yacine Tow", "yacine@demo.dispatch", "+213550000003", "towing", "light", 36.7400, 3.0800),
    ("Samir Fix", "samir@demo.dispatch", "+213550000004", "repair", "light", 36.7480, 3.0650),
    ("Lina Fix", "lina@demo.dispatch", "+213550000005", "repair", "light", 36.7300, 3.1000),
]
# A wider fleet for the console and the analyst views: (name, email, phone, service, vehicle,
# lat, lng), placed pseudo-randomly (fixed seed) within ~6 km of the centre.
_rng = random.Random(7)
DEMO_ASSISTANTS += [
    (
        f"Fleet {n:02d}",
        f"fleet{n:02d}@demo.dispatch",
        f"+2135500001{n:02d}",
        "towing" if n % 3 else "repair",
        "heavy" if n % 5 == 0 else "light",
        36.7525 + _rng.uniform(-0.05, 0.05),
        3.0420 + _rng.uniform(-0.07, 0.07),
    )
    for n in range(1, 13)
]
DEMO_CLIENT = ("Amel Client", "client@demo.dispatch", "+213660000001", 36.7525, 3.0420)
# Clients of the history and of the two open requests waiting in the dispatcher's queue.
DEMO_CLIENTS = [
    (
        f"Demo Client {n}",
        f"client{n}@demo.dispatch",
        f"+21366000010{n}",
        36.74 + n / 200,
        3.03 + n / 150,
    )
    for n in range(1, 5)
]
DEMO_DISPATCHER = ("Dina Dispatch", "dispatcher@demo.dispatch", "+213770000001")


@functools.cache
def _demo_hash() -> str:
    # One hash for every demo account: argon2 is slow on purpose, and they share the password.
    return hash_password_sync(DEMO_PASSWORD)


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
        _demo_hash(),
    )
    return user_id


async def seed_demo(url: str) -> str:
    conn = await asyncpg.connect(url)
    await db.init_connection(conn)  # JSON codecs: the open requests answer jsonb
    try:
        async with conn.transaction():
            name, email, phone, lat, lng = DEMO_CLIENT
            client_id = await _user(conn, "client", name, email, phone)
            await store_position(conn, user_id=client_id, lat=lat, lng=lng)
            await _user(conn, "dispatcher", *DEMO_DISPATCHER)
            clients = [client_id]
            for name, email, phone, lat, lng in DEMO_CLIENTS:
                clients.append(await _user(conn, "client", name, email, phone))
                await store_position(conn, user_id=clients[-1], lat=lat, lng=lng)
            fleet = []
            for name, email, phone, service, vehicle, lat, lng in DEMO_ASSISTANTS:
                uid = await _user(conn, "assistant", name, email, phone)
                fleet.append((uid, service, vehicle))
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
            history = await seed_history(conn, assistants=fleet, clients=clients)
            if history:
                await _open_requests(conn, clients[-2:])
    finally:
        await conn.close()
    return (
        f"demo data ready: client {DEMO_CLIENT[1]}, dispatcher {DEMO_DISPATCHER[1]} and "
        f"{len(DEMO_ASSISTANTS)} assistants (password {DEMO_PASSWORD!r}), {len(DEMO_ZONES)} "
        f"service zones, {len(DEMO_VEHICLES)} vehicles of the client"
        + (f"; {history} past requests over the last hours" if history else "")
    )


async def _open_requests(conn: asyncpg.Connection, clients: list[int]) -> None:
    """Two requests made now through the normal path, for the console's queue."""
    for n, client_id in enumerate(clients):
        await request_assistance(
            conn,
            client_id=client_id,
            pickup=Point(36.7600 + n / 100, 3.0300 + n / 80),
            dropoff=Point(36.7300, 3.0900),
            service_type="towing",
            vehicle_type="light",
            description="Demo: engine will not start",
        )
