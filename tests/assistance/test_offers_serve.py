"""Offer rounds against `dispatch serve --workers 2` over real HTTP and WebSocket: silence, declines,
accept, exhaustion, a restart mid-search and an arrival, each offer reaching its assistant once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aiohttp
import asyncpg
import pytest

from dispatch.core.db import init_connection
from tests.support.assist import PICKUP
from tests.support.factories import User, auth_header, create_user, token_of
from tests.support.offers import (
    SETTINGS,
    Feed,
    Server,
    configure,
    offer_of,
    open_feeds,
    served_city,
    withdrawn,
)
from tests.support.servers import node

# The deadline-to-next-round lag allowed; the driver polls every 250 ms, but this machine is shared.
LAG_S = 2.0


@pytest.fixture(scope="module")
def city(template_url: str) -> Iterator[tuple[str, Server]]:
    """One server for the scenarios below; each scenario plays in its own area, far apart."""
    with served_city(template_url, "dispatch_offers_serve", configure) as served:
        yield served


_areas = iter(range(1, 100))


@pytest.fixture
async def db(city) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(city[0])
    await init_connection(conn)
    yield conn
    await conn.close()


async def _layout(conn: asyncpg.Connection, area: int, kms: list[float]) -> tuple[User, list[User]]:
    """A client and assistants `kms` km north of a pickup 2 degrees (~220 km) from other areas."""
    lat = PICKUP["lat"] + 2 * area
    owner = await create_user(conn, role="client")
    assistants = [
        await create_user(
            conn, role="assistant", is_active=True, lat=lat + km / 111.0, lng=PICKUP["lng"]
        )
        for km in kms
    ]
    return owner, assistants


def _pickup(area: int) -> dict[str, float]:
    return {"lat": PICKUP["lat"] + 2 * area, "lng": PICKUP["lng"]}


async def _request(session, base, settings, owner: User, area: int) -> int:
    async with session.post(
        f"{base}/api/assistance/request/",
        json={"pickup": _pickup(area)},
        headers=auth_header(settings, owner),
    ) as resp:
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["assistance"]["id"])


async def _round_gap(conn, job_id: int, k: int) -> float:
    """Seconds between round k's deadline and round k+1's first offer (negative: early)."""
    gap: float = await conn.fetchval(
        "SELECT extract(epoch FROM min(n.sent_at) - max(o.expires_at)) FROM dispatch.offers o, "
        "dispatch.offers n WHERE o.assistance_id = $1 AND n.assistance_id = $1 "
        "AND o.round = $2 AND n.round = $2 + 1",
        job_id,
        k,
    )
    return gap


async def test_silence_moves_to_round_two_then_exhausts(city, db, settings):
    _, server = city
    area = next(_areas)
    owner, assistants = await _layout(db, area, [1, 2, 3, 4])
    async with aiohttp.ClientSession() as session:
        feeds = await open_feeds(session, server.base, settings, assistants)
        job_id = await _request(session, server.base, settings, owner, area)
        token = token_of(settings, owner)
        client_ws = Feed(
            await session.ws_connect(f"{server.base}/ws/assistance/{job_id}/?token={token}")
        )
        first = await feeds[0].until(offer_of(job_id, 1))
        assert first["expires_at"].endswith("Z") and first["distance"] == pytest.approx(1, 0.01)
        await feeds[1].until(offer_of(job_id, 1))
        # Nobody answers: round 1 expires, round 2 reaches the next two.
        for feed in feeds[:2]:
            await feed.until(withdrawn(job_id, "expired"))
        for feed in feeds[2:]:
            await feed.until(offer_of(job_id, 2))
        assert 0 <= await _round_gap(db, job_id, 1) < LAG_S
        # Round 3 finds nobody new but still lasts its time; then the search is exhausted.
        exhausted = await client_ws.until(lambda f: f["type"] == "search_exhausted", timeout=30)
        assert exhausted["assistance_id"] == job_id
        for feed in feeds:
            await feed.drain(1.0)
            assert len(feed.offers(job_id)) == 1, feed.frames  # each offer sent exactly once
        async with session.get(
            f"{server.base}/api/assistance/view/{job_id}/", headers=auth_header(settings, owner)
        ) as resp:
            job = (await resp.json())["Assistance"]
        assert (job["status"], job["searching"], job["offer_round"]) == ("requested", False, 3)
        row = await db.fetchrow(
            "SELECT exhausted_at - created_at AS took FROM dispatch.assistance_requests "
            "WHERE id = $1",
            job_id,
        )
        assert 9 <= row["took"].total_seconds() < 9 + 3 * LAG_S
        for feed in [*feeds, client_ws]:
            await feed.ws.close()


async def test_when_everyone_declines_the_next_round_starts_at_once(city, db, settings):
    _, server = city
    area = next(_areas)
    owner, assistants = await _layout(db, area, [1, 2, 3])
    async with aiohttp.ClientSession() as session:
        feeds = await open_feeds(session, server.base, settings, assistants)
        job_id = await _request(session, server.base, settings, owner, area)
        for a, feed in zip(assistants[:2], feeds[:2], strict=True):
            await feed.until(offer_of(job_id, 1))
            async with session.patch(
                f"{server.base}/api/assistance/decline/{job_id}/", headers=auth_header(settings, a)
            ) as resp:
                assert resp.status == 200
                assert await resp.json() == {"assistance_id": job_id, "declined": True}
        await feeds[2].until(offer_of(job_id, 2))
        assert await _round_gap(db, job_id, 1) < 0, "round 2 began before round 1's deadline"
        # A decliner hears no withdrawal of its own decline, and is never offered again.
        await feeds[0].drain(1.0)
        assert not [f for f in feeds[0].frames if f["type"] == "offer_withdrawn"]
        assert len(feeds[0].offers(job_id)) == 1
        for feed in feeds:
            await feed.ws.close()


async def test_accept_withdraws_every_other_offer(city, db, settings):
    _, server = city
    area = next(_areas)
    owner, assistants = await _layout(db, area, [1, 2, 3])
    async with aiohttp.ClientSession() as session:
        feeds = await open_feeds(session, server.base, settings, assistants)
        job_id = await _request(session, server.base, settings, owner, area)
        await feeds[1].until(offer_of(job_id, 1))
        # The third assistant holds no offer: refused, with nothing about the request.
        async with session.patch(
            f"{server.base}/api/assistance/accept/{job_id}/",
            headers=auth_header(settings, assistants[2]),
        ) as resp:
            assert resp.status == 409
            body = await resp.json()
            assert body["code"] == "NOT_OFFERED" and set(body) == {"error", "code"}
        async with session.patch(
            f"{server.base}/api/assistance/accept/{job_id}/",
            headers=auth_header(settings, assistants[0]),
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["searching"] is False
        await feeds[1].until(withdrawn(job_id, "accepted"))
        # The search is over: no round 2 for the third assistant, even after the deadline.
        await asyncio.sleep(SETTINGS["offer_timeout_s"] + LAG_S)
        await feeds[2].drain(0.5)
        assert feeds[2].offers(job_id) == []
        states = await db.fetch(
            "SELECT assistant_id, state FROM dispatch.offers WHERE assistance_id = $1", job_id
        )
        assert {r["assistant_id"]: r["state"] for r in states} == {
            assistants[0].id: "accepted",
            assistants[1].id: "withdrawn",
        }
        for feed in feeds:
            await feed.ws.close()


async def test_rounds_continue_across_a_restart(settings, throwaway_db):
    await configure(throwaway_db)
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    await conn.execute(
        "UPDATE dispatch.settings SET value = '1' WHERE key = 'matching_max_results'"
    )
    owner, assistants = await _layout(conn, 0, [1, 2, 3])
    server = Server(throwaway_db)
    server.start()
    try:
        async with aiohttp.ClientSession() as session:
            feeds = await open_feeds(session, server.base, settings, assistants)
            job_id = await _request(session, server.base, settings, owner, 0)
            await feeds[0].until(offer_of(job_id, 1))
            for feed in feeds:
                await feed.ws.close()
        server.stop()
        # Down past round 1's deadline: nobody advances it meanwhile.
        await asyncio.sleep(SETTINGS["offer_timeout_s"] + 1)
        assert (
            await conn.fetchval(
                "SELECT offer_round FROM dispatch.assistance_requests WHERE id = $1", job_id
            )
            == 1
        )
        restarted = await conn.fetchval("SELECT clock_timestamp()")
        server.start()
        async with aiohttp.ClientSession() as session:
            # The restarted server advances the overdue round at once (maybe before a socket is
            # back: a missed frame is the event log's business, issue 10); round 3 is heard live.
            later = await open_feeds(session, server.base, settings, assistants)
            await later[2].until(offer_of(job_id, 3))
            for feed in later:
                await feed.drain(1.0)
            # Across both lives of the server, nobody heard the offer twice.
            for before, after in zip(feeds, later, strict=True):
                assert len(before.offers(job_id)) + len(after.offers(job_id)) <= 1
            assert len(later[2].offers(job_id)) == 1
            for feed in later:
                await feed.ws.close()
        round2 = await conn.fetchval(
            "SELECT sent_at FROM dispatch.offers WHERE assistance_id = $1 AND round = 2", job_id
        )
        assert round2 > restarted, "round 2 was sent by the restarted server"
        rounds = await conn.fetch(
            "SELECT round, assistant_id FROM dispatch.offers WHERE assistance_id = $1 "
            "ORDER BY round",
            job_id,
        )
        assert [tuple(r) for r in rounds] == [(k + 1, a.id) for k, a in enumerate(assistants)]
    finally:
        server.stop()
        await conn.close()


async def test_an_assistant_going_active_joins_the_running_round(city, db, settings):
    _, server = city
    area = next(_areas)
    owner, (near,) = await _layout(db, area, [1])
    newcomer = await create_user(
        db, role="assistant", lat=_pickup(area)["lat"] + 0.5 / 111.0, lng=PICKUP["lng"]
    )
    # A long round, so that only the arrival check (every offer_arrival_check_s) can reach the
    # newcomer in time; the other scenarios' requests keep their own deadlines.
    await db.execute("UPDATE dispatch.settings SET value = '60' WHERE key = 'offer_timeout_s'")
    try:
        async with aiohttp.ClientSession() as session:
            (feed,) = await open_feeds(session, server.base, settings, [newcomer])
            job_id = await _request(session, server.base, settings, owner, area)
            async with session.post(
                f"{server.base}/api/profile/assistant-status/",
                json={"is_active": True},
                headers=auth_header(settings, newcomer),
            ) as resp:
                assert resp.status == 200
            offer = await feed.until(offer_of(job_id, 1), timeout=15)
            assert offer["distance"] == pytest.approx(0.5, 0.01)
            async with session.patch(
                f"{server.base}/api/assistance/accept/{job_id}/",
                headers=auth_header(settings, newcomer),
            ) as resp:
                assert resp.status == 200
            await feed.ws.close()
        arrivals = await db.fetchval(
            "SELECT arrivals FROM dispatch.offer_rounds WHERE assistance_id = $1 AND round = 1",
            job_id,
        )
        assert arrivals == 1
        states = await db.fetch(
            "SELECT assistant_id, state FROM dispatch.offers WHERE assistance_id = $1", job_id
        )
        assert {r["assistant_id"]: r["state"] for r in states} == {
            near.id: "withdrawn",
            newcomer.id: "accepted",
        }
    finally:
        await db.execute(
            "UPDATE dispatch.settings SET value = to_jsonb($1::numeric) "
            "WHERE key = 'offer_timeout_s'",
            SETTINGS["offer_timeout_s"],
        )


async def test_an_offer_past_its_expiry_is_refused_before_the_driver_closes_it(
    settings, throwaway_db
):
    """Issue 23 D11: an accept just after `expires_at` went through until the round driver's next
    pass closed the offer. The accept compares `expires_at` with the clock itself: with no driver
    running at all (two workers, DISPATCH_OFFER_DRIVER_INTERVAL_MS=0), the open offer is refused
    as OFFER_EXPIRED once its time is up, and accepted while it is not."""
    await configure(throwaway_db)
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    await conn.execute("UPDATE dispatch.settings SET value = '1' WHERE key = 'offer_timeout_s'")
    late_owner, (late,) = await _layout(conn, 0, [1])
    timely_owner, (timely,) = await _layout(conn, 1, [1])
    try:
        with node(throwaway_db, workers=2, env={"DISPATCH_OFFER_DRIVER_INTERVAL_MS": "0"}) as base:
            async with aiohttp.ClientSession() as session:
                late_job = await _request(session, base, settings, late_owner, 0)
                expires_at = await conn.fetchval(
                    "SELECT expires_at FROM dispatch.offers WHERE assistance_id = $1 "
                    "AND assistant_id = $2",
                    late_job,
                    late.id,
                )
                # Just past the deadline by the database's clock (the one the accept reads).
                left = await conn.fetchval(
                    "SELECT extract(epoch FROM $1::timestamptz - clock_timestamp())", expires_at
                )
                await asyncio.sleep(float(left) + 0.02)
                async with session.patch(
                    f"{base}/api/assistance/accept/{late_job}/",
                    headers=auth_header(settings, late),
                ) as resp:
                    body = await resp.json()
                    assert (resp.status, body.get("code")) == (409, "OFFER_EXPIRED"), body
                    assert set(body) == {"error", "code"}
                # Nobody closed the offer: the answer came from the clock, not from the driver.
                state = await conn.fetchval(
                    "SELECT state FROM dispatch.offers WHERE assistance_id = $1", late_job
                )
                assert state == "open"

                await conn.execute(
                    "UPDATE dispatch.settings SET value = '30' WHERE key = 'offer_timeout_s'"
                )
                timely_job = await _request(session, base, settings, timely_owner, 1)
                async with session.patch(
                    f"{base}/api/assistance/accept/{timely_job}/",
                    headers=auth_header(settings, timely),
                ) as resp:
                    assert resp.status == 200, await resp.text()
    finally:
        await conn.close()
