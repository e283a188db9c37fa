"""Demo history: a few hours of requests, offers, jobs, activity and positions around Algiers, so the
analyst views and the dispatcher console have something to show on a fresh machine."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import h3

from dispatch.positions.store import cells

HOURS = 4
CENTRE = (36.7525, 3.0420)
MARKER = "demo_history_seeded"  # a dispatch.settings key: the history is written once


def _jitter(rng: random.Random, lat: float, lng: float, km: float) -> tuple[float, float]:
    return lat + rng.uniform(-km, km) / 111.0, lng + rng.uniform(-km, km) / 89.0


def _price(service: str, vehicle: str, km: float) -> dict[str, Any]:
    base = {"towing": {"light": 1500, "heavy": 3000}, "repair": {"light": 1000, "heavy": 2000}}
    per_km = {"towing": {"light": 50, "heavy": 150}, "repair": {"light": 0, "heavy": 0}}
    amounts = [("Base fare", float(base[service][vehicle]))]
    if per_km[service][vehicle]:
        amounts.append(("Distance", round(per_km[service][vehicle] * km, 2)))
    lines = [{"label": label, "amount": amount} for label, amount in amounts]
    total = round(sum(amount for _, amount in amounts), 2)
    return {"total": total, "currency": "DZD", "surge_multiplier": 1.0, "lines": lines}


async def seed_history(
    conn: asyncpg.Connection, *, assistants: list[tuple[int, str, str]], clients: list[int]
) -> int:
    """Write HOURS of past activity for the given (assistant id, service, vehicle) and client ids;
    returns the number of requests written (0 when the history exists already)."""
    if await conn.fetchval("SELECT 1 FROM dispatch.settings WHERE key = $1", MARKER):
        return 0
    rng = random.Random(11)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=HOURS)
    # Every assistant went active at the start; a few go offline for a while in the middle.
    busy_until: dict[int, datetime] = {}
    home = {aid: _jitter(rng, *CENTRE, 4.0) for aid, _, _ in assistants}
    for aid, _, _ in assistants:
        await conn.execute(
            "INSERT INTO dispatch.assistant_activity (assistant_id, is_active, at) VALUES ($1, true, $2)",
            aid,
            start,
        )
        if rng.random() < 0.3:
            off = start + timedelta(minutes=rng.randint(30, 150))
            await conn.executemany(
                "INSERT INTO dispatch.assistant_activity (assistant_id, is_active, at) VALUES ($1, $2, $3)",
                [(aid, False, off), (aid, True, off + timedelta(minutes=rng.randint(10, 40)))],
            )
    # Position reports every five minutes along a short random walk.
    history = []
    for aid, _, _ in assistants:
        lat, lng = home[aid]
        t = start
        while t < now:
            lat, lng = _jitter(rng, lat, lng, 0.4)
            history.append((aid, lng, lat, cells(lat, lng).r9, t))
            t += timedelta(minutes=5)
    await conn.executemany(
        """
        INSERT INTO dispatch.position_history (user_id, geog, h3_r9, recorded_at)
        VALUES ($1, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4, $5)
        """,
        history,
    )
    # A request every few minutes, offered to the nearest two or three, mostly accepted.
    written = 0
    t = start + timedelta(minutes=3)
    while t < now - timedelta(minutes=10):
        written += await _one_request(conn, rng, t, assistants, clients, home, busy_until)
        t += timedelta(minutes=rng.randint(2, 7))
    await conn.execute(
        "INSERT INTO dispatch.settings (key, value, description) VALUES ($1, 'true', $2)",
        MARKER,
        "Set by `dispatch seed` once it wrote the demo history.",
    )
    return written


async def _one_request(
    conn: asyncpg.Connection,
    rng: random.Random,
    t: datetime,
    assistants: list[tuple[int, str, str]],
    clients: list[int],
    home: dict[int, tuple[float, float]],
    busy_until: dict[int, datetime],
) -> int:
    lat, lng = _jitter(rng, *CENTRE, 6.0)
    service = "towing" if rng.random() < 0.7 else "repair"
    vehicle = "heavy" if rng.random() < 0.2 else "light"
    km = round(rng.uniform(1, 15), 3) if service == "towing" else 0.0
    free = [
        (((home[a][0] - lat) ** 2 + (home[a][1] - lng) ** 2) ** 0.5 * 100, a)
        for a, s, _ in assistants
        if s == service and busy_until.get(a, t) <= t
    ]
    free.sort()
    offered = free[: rng.randint(2, 3)]
    wait = timedelta(seconds=rng.randint(8, 95))
    outcome = rng.random()
    winner = offered[-1][1] if offered and outcome < 0.8 else None
    accepted_at = t + wait if winner else None
    done = accepted_at + timedelta(minutes=rng.randint(15, 50)) if accepted_at else None
    canceled = winner is None or rng.random() < 0.08
    status = "canceled" if canceled else "completed"
    exhausted_at = t + timedelta(seconds=100) if winner is None and outcome > 0.9 else None
    price = _price(service, vehicle, km)
    request_id = await conn.fetchval(
        """
        INSERT INTO dispatch.assistance_requests
            (client_id, assistant_id, status, service_type, vehicle_type, pickup, pickup_h3_r7,
             pickup_h3_r8, distance_km, price, total_price, currency, created_at, updated_at,
             accepted_at, started_at, completed_at, canceled_at, offer_round, exhausted_at)
        VALUES ($1, $2, $3, $4, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326)::geography, $8, $9,
                $10, $11, $12, 'DZD', $13, $14, $15, $16, $17, $18, $19, $20)
        RETURNING id
        """,
        rng.choice(clients),
        None if canceled and winner is None else winner,
        status,
        service,
        vehicle,
        lng,
        lat,
        cells(lat, lng).r7,
        h3.str_to_int(h3.latlng_to_cell(lat, lng, 8)),
        km,
        price,
        price["total"],
        t,
        done or t + timedelta(minutes=2),
        accepted_at,
        accepted_at + timedelta(minutes=5) if accepted_at and not canceled else None,
        done if not canceled else None,
        (done or t + timedelta(minutes=2)) if canceled else None,
        1 if offered else 0,
        exhausted_at,
    )
    if winner is not None and done is not None:
        busy_until[winner] = done
    client_id = await conn.fetchval(
        "SELECT client_id FROM dispatch.assistance_requests WHERE id = $1", request_id
    )
    timeline: list[tuple[int, str, str | None, str, datetime]] = [
        (client_id, "client", None, "requested", t)
    ]
    if winner is not None and accepted_at is not None and done is not None:
        timeline.append((winner, "assistant", "requested", "accepted", accepted_at))
        if canceled:
            timeline.append((client_id, "client", "accepted", "canceled", done))
        else:
            timeline.append(
                (winner, "assistant", "accepted", "ongoing", accepted_at + timedelta(minutes=5))
            )
            timeline.append((winner, "assistant", "ongoing", "completed", done))
    else:
        timeline.append((client_id, "client", "requested", "canceled", t + timedelta(minutes=2)))
    await conn.executemany(
        """
        INSERT INTO dispatch.assistance_events
            (assistance_id, actor_id, actor_role, from_status, to_status, created_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        [(request_id, *row) for row in timeline],
    )
    offers = []
    for rank, (dist, aid) in enumerate(offered):
        if aid == winner:
            state, closed = "accepted", accepted_at
        elif winner is not None and rank < len(offered) - 1 and rng.random() < 0.5:
            state, closed = "declined", t + timedelta(seconds=rng.randint(3, 15))
        elif winner is not None:
            state, closed = "withdrawn", accepted_at
        else:
            state, closed = rng.choice(["expired", "declined"]), t + timedelta(seconds=20)
        offers.append((request_id, aid, dist * 1000, t, t + timedelta(seconds=20), state, closed))
    await conn.executemany(
        """
        INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, sent_at,
                                     expires_at, state, closed_at)
        VALUES ($1, $2, 1, $3, $4, $5, $6, $7)
        """,
        offers,
    )
    return 1
