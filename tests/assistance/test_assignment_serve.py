"""offer_policy assignment against `dispatch serve --workers 2` over real HTTP and WebSocket: the
crossing the greedy nearest gets wrong, exclusive offers, a decline going to the next batch, the
fall back to rounds, and a crash in the middle of a batch offering nothing twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import asyncpg
import pytest

from dispatch.core.db import init_connection
from tests.support.assist import PICKUP
from tests.support.factories import User, auth_header, create_user
from tests.support.offers import Server, configure, offer_of, open_feeds, served_city

# The straight line runs at 20 km/h (straight_line_speed_kmh): the 1800 s cap is 10 km. Batches
# every second; a request without a taker in 3 batches goes to the rounds, whose first round
# reaches 20 km.
ASSIGNMENT = {
    "offer_policy": "assignment",
    "assignment_window_s": 1,
    "assignment_offer_timeout_s": 4,
    "assignment_max_batches": 3,
    "assignment_cost_cap_s": 1800,
    "straight_line_speed_kmh": 20,
    "matching_radius_m": 20_000,
}


async def assign(url: str) -> None:
    """The offer rounds' test settings, then the assignment policy's."""
    await configure(url)
    conn = await asyncpg.connect(url)
    try:
        for key, value in ASSIGNMENT.items():
            await conn.execute(
                "UPDATE dispatch.settings SET value = CASE WHEN $3 THEN to_jsonb($2::text) "
                "ELSE to_jsonb($2::numeric) END WHERE key = $1",
                key,
                str(value),
                isinstance(value, str),
            )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def city(template_url: str) -> Iterator[tuple[str, Server]]:
    """One server; each scenario plays in its own area, 2 degrees (~220 km) from the others."""
    with served_city(template_url, "dispatch_assignment_serve", assign) as served:
        yield served


_areas = iter(range(1, 100))


@pytest.fixture
async def db(city) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(city[0])
    await init_connection(conn)
    yield conn
    await conn.close()


def _at(area: int, km: float) -> dict[str, float]:
    """A point `km` north of the area's origin."""
    return {"lat": PICKUP["lat"] + 2 * area + km / 111.0, "lng": PICKUP["lng"]}


async def _assistants(conn, area: int, kms: list[float]) -> list[User]:
    return [
        await create_user(conn, role="assistant", is_active=True, **_at(area, km)) for km in kms
    ]


async def _request(session, base, settings, owner: User, pickup: dict[str, float]) -> int:
    async with session.post(
        f"{base}/api/assistance/request/",
        json={"pickup": pickup},
        headers=auth_header(settings, owner),
    ) as resp:
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        assert body["nearby_assistants"] == []  # no round 1: the batch decides
        assert body["assistance"]["searching"] is True
        return int(body["assistance"]["id"])


async def _answer(session, base, settings, who: User, verb: str, job_id: int) -> tuple[int, dict]:
    async with session.patch(
        f"{base}/api/assistance/{verb}/{job_id}/", headers=auth_header(settings, who)
    ) as resp:
        return resp.status, await resp.json()


def exclusive(job_id: int):
    return lambda f: (
        f["type"] == "new_assistance_request"
        and f["assistance_id"] == job_id
        and f.get("offer_policy") == "assignment"
    )


async def _outcomes(conn, job_id: int) -> list[tuple[str, int | None]]:
    rows = await conn.fetch(
        "SELECT outcome, assistant_id FROM dispatch.assignment_decisions WHERE assistance_id = $1 "
        "ORDER BY batch_id",
        job_id,
    )
    return [(r["outcome"], r["assistant_id"]) for r in rows]


async def test_the_batch_resolves_the_crossing_the_nearest_would_strand(city, db, settings):
    """R1 at 0 km, R2 at 6 km; A at 2 km is nearest to both, B at 5 km south reaches only R1
    within the cap (11 km from R2). Greedy nearest: R1-A, R2 stranded. The batch: R1-B (900 s)
    and R2-A (720 s)."""
    _, server = city
    area = next(_areas)
    a, b = await _assistants(db, area, [2, -5])
    c1 = await create_user(db, role="client")
    c2 = await create_user(db, role="client")
    async with aiohttp.ClientSession() as session:
        feeds = await open_feeds(session, server.base, settings, [a, b])
        r1 = await _request(session, server.base, settings, c1, _at(area, 0))
        r2 = await _request(session, server.base, settings, c2, _at(area, 6))
        to_a = await feeds[0].until(exclusive(r2))
        to_b = await feeds[1].until(exclusive(r1))
        assert to_a["eta_s"] == 720 and to_b["eta_s"] == 900
        assert to_a["batch_id"] == to_b["batch_id"], "one batch decided both"
        assert to_a["expires_at"].endswith("Z") and to_a["offer_round"] == 0
        for feed in feeds:
            await feed.drain(1.0)
        # Exclusive: each assistant heard exactly one offer, of one request.
        assert [f["assistance_id"] for f in feeds[0].offers(r1) + feeds[0].offers(r2)] == [r2]
        assert [f["assistance_id"] for f in feeds[1].offers(r1) + feeds[1].offers(r2)] == [r1]
        # Only an offer opens the door: A was never offered R1.
        status, body = await _answer(session, server.base, settings, a, "accept", r1)
        assert (status, body["code"]) == (409, "NOT_OFFERED")
        assert (await _answer(session, server.base, settings, b, "accept", r1))[0] == 200
        assert (await _answer(session, server.base, settings, a, "accept", r2))[0] == 200
        # The dispatcher's request detail shows the batch's decision.
        dispatcher = await create_user(db, role="dispatcher")
        async with session.get(
            f"{server.base}/api/dispatch/requests/{r2}/", headers=auth_header(settings, dispatcher)
        ) as resp:
            assert resp.status == 200, await resp.text()
            (decision,) = (await resp.json())["batches"]
        assert (decision["outcome"], decision["assistant_id"]) == ("offered", a.id)
        assert decision["cost_s"] == pytest.approx(720, abs=1)  # 4 km at 20 km/h
        for feed in feeds:
            await feed.ws.close()
    why = await db.fetchval("SELECT dispatch.request_batches($1)", r1)
    assert [(x["outcome"], x["assistant_id"], x["nearest_id"]) for x in why] == [
        ("offered", b.id, a.id)
    ]
    went = {x["assistant_id"]: x["went_to"] for x in why[0]["alternatives"]}
    assert went == {a.id: r2, b.id: r1}


async def test_an_assistant_holds_one_offer_at_a_time(city, db, settings):
    _, server = city
    area = next(_areas)
    (a,) = await _assistants(db, area, [1])
    clients = [await create_user(db, role="client") for _ in range(2)]
    async with aiohttp.ClientSession() as session:
        (feed,) = await open_feeds(session, server.base, settings, [a])
        jobs = [await _request(session, server.base, settings, c, _at(area, 0)) for c in clients]
        first = await feed.until(lambda f: f["type"] == "new_assistance_request")
        # Two more windows: the other request finds nobody (A holds an offer).
        await feed.drain(2.5)
        assert [
            f["assistance_id"] for f in feed.frames if f["type"] == "new_assistance_request"
        ] == [first["assistance_id"]]
        other = next(j for j in jobs if j != first["assistance_id"])
        outcomes = [o for o, _ in await _outcomes(db, other)]
        assert outcomes[0] == "unmatched"  # in the same batch, A went to the first
        assert set(outcomes[1:]) <= {"no_candidate", "fell_back"}  # A holds an offer
        assert (
            await db.fetchval(
                "SELECT count(*) FROM dispatch.offers WHERE assistant_id = $1 AND state = 'open'",
                a.id,
            )
            == 1
        )
        await feed.ws.close()


async def test_a_decline_sends_the_request_to_the_next_batch(city, db, settings):
    _, server = city
    area = next(_areas)
    a, b = await _assistants(db, area, [1, 3])
    owner = await create_user(db, role="client")
    async with aiohttp.ClientSession() as session:
        feeds = await open_feeds(session, server.base, settings, [a, b])
        job = await _request(session, server.base, settings, owner, _at(area, 0))
        await feeds[0].until(exclusive(job))  # the nearest first
        declined_at = time.monotonic()
        status, body = await _answer(session, server.base, settings, a, "decline", job)
        assert (status, body) == (200, {"assistance_id": job, "declined": True})
        await feeds[1].until(exclusive(job))  # the next batch: B
        assert time.monotonic() - declined_at < 1 + 2.0  # one window, and the machine's lag
        await feeds[0].drain(1.0)
        assert len(feeds[0].offers(job)) == 1  # never again to the decliner
        assert not [f for f in feeds[0].frames if f["type"] == "offer_withdrawn"]
        for feed in feeds:
            await feed.ws.close()
    assert await _outcomes(db, job) == [("offered", a.id), ("offered", b.id)]


async def test_without_a_taker_the_request_falls_back_to_rounds(city, db, settings):
    _, server = city
    area = next(_areas)
    (far,) = await _assistants(db, area, [12])  # 2160 s: over the cap, within round 1's 20 km
    owner = await create_user(db, role="client")
    async with aiohttp.ClientSession() as session:
        (feed,) = await open_feeds(session, server.base, settings, [far])
        job = await _request(session, server.base, settings, owner, _at(area, 0))
        offer = await feed.until(offer_of(job, 1), timeout=20)
        assert "offer_policy" not in offer  # a rounds offer
        await feed.ws.close()
    assert await _outcomes(db, job) == [
        ("no_candidate", None),
        ("no_candidate", None),
        ("fell_back", None),
    ]
    row = await db.fetchrow(
        "SELECT assigning, offer_round, searching FROM dispatch.assistance_requests WHERE id = $1",
        job,
    )
    assert tuple(row) == (False, 1, True)


async def test_a_crash_in_the_middle_of_a_batch_offers_nothing_twice(settings, throwaway_db):
    await assign(throwaway_db)
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    (a,) = await _assistants(conn, 0, [1])
    owner = await create_user(conn, role="client")
    blocker = await asyncpg.connect(throwaway_db)
    server = Server(throwaway_db)
    server.start()
    try:
        # The batch will stop at its record: its requests locked, costed and solved, nothing
        # written yet.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE dispatch.assignment_batches IN EXCLUSIVE MODE")
        async with aiohttp.ClientSession() as session:
            job = await _request(session, server.base, settings, owner, _at(0, 0))
        for _ in range(100):
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%issue_assignment_batch%'"
            )
            if waiting:
                break
            await asyncio.sleep(0.1)
        assert waiting == 1, "a batch is blocked mid-way"
        server.kill()
        server.start()
        async with aiohttp.ClientSession() as session:
            (feed,) = await open_feeds(session, server.base, settings, [a])
            await tx.rollback()  # the dead batch rolls back; the restarted server's runs
            await feed.until(exclusive(job))
            await feed.drain(2.0)
            assert len(feed.offers(job)) == 1
            await feed.ws.close()
        assert await conn.fetchval("SELECT count(*) FROM dispatch.assignment_batches") == 1
        assert await _outcomes(conn, job) == [("offered", a.id)]
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM dispatch.offers WHERE assistance_id = $1", job
            )
            == 1
        )
    finally:
        server.stop()
        await blocker.close()
        await conn.close()
