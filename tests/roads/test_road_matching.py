"""Matching by road travel time over the Monaco graph, over real HTTP and WebSocket.

The places are midpoints of Monaco streets (unambiguous snaps): from PICKUP, assistant NEAR is the
geodesic nearest (≈263 m) but needs minutes by road (up the hill and round); FAST is ≈300 m away
down a straight street. © OpenStreetMap contributors (ODbL)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from dispatch.core.config import Settings
from tests.support.assist import call
from tests.support.factories import User, create_user
from tests.support.sockets import frames_within, next_of_type, ws_url

PICKUP = {"lat": 43.74888186650659, "lng": 7.43315668683752}
NEAR = {"lat": 43.7509452, "lng": 7.43154505}
FAST = {"lat": 43.74667743841256, "lng": 7.431014638274152}
DROPOFF = {"lat": 43.7347, "lng": 7.4228}  # Port Hercule
ALGIERS = {"lat": 36.7525, "lng": 3.0420}


@pytest.fixture
def throwaway_db(monaco: str) -> str:
    """The rt fixture's database (tests/conftest.py): here a copy with the Monaco graph."""
    return monaco


async def _assistant(conn: asyncpg.Connection, at: dict[str, float]) -> User:
    return await create_user(conn, role="assistant", is_active=True, **at)


async def _set(conn: asyncpg.Connection, **values: Any) -> None:
    for key, value in values.items():
        await conn.execute(
            "UPDATE dispatch.settings SET value = to_jsonb($2::numeric) WHERE key = $1", key, value
        )


async def _geodesic_m(conn: asyncpg.Connection, a: dict[str, float], b: dict[str, float]) -> float:
    metres: float = await conn.fetchval(
        "SELECT ST_Distance(ST_MakePoint($2, $1)::geography, ST_MakePoint($4, $3)::geography)",
        a["lat"],
        a["lng"],
        b["lat"],
        b["lng"],
    )
    return metres


async def test_the_road_nearest_gets_the_offer_not_the_geodesic_nearest(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    await _set(conn, matching_max_results=1)
    near, fast = await _assistant(conn, NEAR), await _assistant(conn, FAST)
    assert await _geodesic_m(conn, PICKUP, NEAR) < await _geodesic_m(conn, PICKUP, FAST)
    rider = await create_user(conn, role="client")
    async with (
        client.ws_connect(ws_url(settings, f"/ws/assistant/{near.id}/", near)) as ws_near,
        client.ws_connect(ws_url(settings, f"/ws/assistant/{fast.id}/", fast)) as ws_fast,
    ):
        status, body = await call(
            client, settings, rider, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201, body
        [offered] = body["nearby_assistants"]
        assert offered["assistant_id"] == fast.id
        assert offered["eta_source"] == "road"
        offer = await next_of_type(ws_fast, "new_assistance_request")
        assert offer["assistance_id"] == body["assistance"]["id"]
        assert offer["eta_source"] == "road" and offer["eta_s"] == offered["eta_s"]
        assert not [
            f for f in await frames_within(ws_near, 0.5) if f["type"] == "new_assistance_request"
        ]


async def test_both_offered_soonest_first_with_road_etas(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    near, fast = await _assistant(conn, NEAR), await _assistant(conn, FAST)
    rider = await create_user(conn, role="client")
    status, body = await call(
        client, settings, rider, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201, body
    items = body["nearby_assistants"]
    assert [i["assistant_id"] for i in items] == [fast.id, near.id]
    assert {i["eta_source"] for i in items} == {"road"}
    # Minutes round the hill against under a minute down the street; a straight-line ETA of
    # the nearer one would be the smaller.
    assert items[0]["eta_s"] < 60 < items[1]["eta_s"]
    assert items[0]["distance"] > items[1]["distance"]
    rows = await conn.fetch(
        "SELECT assistant_id, eta_s, eta_source FROM dispatch.offers WHERE assistance_id = $1"
        " ORDER BY eta_s",
        body["assistance"]["id"],
    )
    assert [(r["assistant_id"], r["eta_s"], r["eta_source"]) for r in rows] == [
        (i["assistant_id"], i["eta_s"], "road") for i in items
    ]


async def test_outside_every_graph_the_eta_is_straight_line(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    there = {"lat": ALGIERS["lat"] + 0.009, "lng": ALGIERS["lng"]}
    helper = await _assistant(conn, there)
    rider = await create_user(conn, role="client")
    status, body = await call(
        client, settings, rider, "POST", "/api/assistance/request/", {"pickup": ALGIERS}
    )
    assert status == 201, body
    [item] = body["nearby_assistants"]
    metres = await _geodesic_m(conn, ALGIERS, there)
    speed = await conn.fetchval(
        "SELECT dispatch.setting_numeric('straight_line_speed_kmh')::float8"
    )
    assert item == {
        "assistant_id": helper.id,
        "distance": round(metres / 1000, 3),
        "eta_s": round(metres / (speed / 3.6)),
        "eta_source": "straight_line",
    }
    assert body["assistance"]["distance_source"] == "straight_line"


async def test_a_dropped_or_broken_graph_falls_back_to_the_straight_line(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    await _assistant(conn, NEAR)
    await _assistant(conn, FAST)
    riders = [await create_user(conn, role="client") for _ in range(3)]

    async def ask(rider: User) -> list[dict[str, Any]]:
        status, body = await call(
            client, settings, rider, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201, body
        items: list[dict[str, Any]] = body["nearby_assistants"]
        return items

    assert {i["eta_source"] for i in await ask(riders[0])} == {"road"}
    # The graph's edges vanish under a covering region: routing fails inside the request, which
    # is ranked by the straight line instead (and stored: nothing half-written, no 500).
    await conn.execute("ALTER TABLE roads.edges RENAME TO edges_gone")
    try:
        broken = await ask(riders[1])
    finally:
        await conn.execute("ALTER TABLE roads.edges_gone RENAME TO edges")
    assert [i["eta_source"] for i in broken] == ["straight_line", "straight_line"]
    assert broken[0]["distance"] < broken[1]["distance"]  # the geodesic order again
    # The region dropped as `dispatch roads drop` does: no graph covers the pickup any more.
    await conn.execute("DELETE FROM roads.regions")
    assert {i["eta_source"] for i in await ask(riders[2])} == {"straight_line"}
    stored = await conn.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = ANY($1::bigint[])",
        [r.id for r in riders],
    )
    assert stored == 3


async def test_the_client_follows_the_accepted_assistants_road_eta(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    await _set(conn, eta_refresh_s=0)
    fast = await _assistant(conn, FAST)
    rider = await create_user(conn, role="client")
    status, body = await call(
        client,
        settings,
        rider,
        "POST",
        "/api/assistance/request/",
        {"pickup": PICKUP, "dropoff": DROPOFF},
    )
    assert status == 201, body
    job = body["assistance"]
    assert job["distance_source"] == "road"
    assert job["distance_km"] > round(await _geodesic_m(conn, PICKUP, DROPOFF) / 1000, 3)
    assert job["eta_s"] is None  # nobody on the way yet
    offered_eta = body["nearby_assistants"][0]["eta_s"]

    status, accepted = await call(
        client, settings, fast, "PATCH", f"/api/assistance/accept/{job['id']}/"
    )
    assert status == 200, accepted
    async with client.ws_connect(ws_url(settings, f"/ws/assistance/{job['id']}/", rider)) as ws:
        first = await next_of_type(ws, "status")
        assert first["status"] == "accepted"
        assert first["eta_source"] == "road" and first["eta_s"] == offered_eta
        # Halfway down the street: the next refresh announces a sooner arrival.
        halfway = {
            "lat": (FAST["lat"] + PICKUP["lat"]) / 2,
            "lng": (FAST["lng"] + PICKUP["lng"]) / 2,
        }
        status, _ = await call(
            client, settings, fast, "POST", "/api/profile/update-location/", halfway
        )
        assert status == 200
        eta = await next_of_type(ws, "eta", timeout=10)
        assert eta["assistance_id"] == job["id"] and eta["assistant_id"] == fast.id
        assert eta["eta_source"] == "road" and eta["eta_s"] < offered_eta
    status, view = await call(client, settings, rider, "GET", f"/api/assistance/view/{job['id']}/")
    assert status == 200
    assert view["Assistance"]["eta_s"] == eta["eta_s"]


async def test_the_dispatcher_sees_candidates_by_road_eta(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    await _set(conn, matching_max_results=1)
    near, fast = await _assistant(conn, NEAR), await _assistant(conn, FAST)
    rider = await create_user(conn, role="client")
    desk = await create_user(conn, role="dispatcher")
    status, body = await call(
        client, settings, rider, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201, body
    job_id = body["assistance"]["id"]
    await asyncio.sleep(0)
    status, detail = await call(client, settings, desk, "GET", f"/api/dispatch/requests/{job_id}/")
    assert status == 200, detail
    [offer] = detail["offers"]
    assert offer["assistant_id"] == fast.id and offer["eta_source"] == "road"
    assert [c["assistant_id"] for c in detail["candidates"]] == [fast.id, near.id]
    assert detail["candidates"][0]["eta_s"] < detail["candidates"][1]["eta_s"]
    assert {c["eta_source"] for c in detail["candidates"]} == {"road"}


async def test_the_assistants_list_is_soonest_first_by_road(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    near, fast = await _assistant(conn, NEAR), await _assistant(conn, FAST)
    rider = await create_user(conn, role="client")
    query = f"lat={PICKUP['lat']}&lng={PICKUP['lng']}"
    status, listed = await call(client, settings, rider, "GET", f"/api/assistants/?{query}")
    assert status == 200, listed
    assert [a["id"] for a in listed] == [fast.id, near.id]
    assert [a["eta_source"] for a in listed] == ["road", "road"]
    assert listed[0]["eta_s"] < listed[1]["eta_s"] and listed[0]["distance"] > listed[1]["distance"]


async def test_a_sooner_newcomer_joins_the_running_round_by_road(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    client, conn = rt
    await _set(conn, matching_max_results=1, offer_arrival_check_s=0.2)
    fast = await _assistant(conn, FAST)
    halfway = {"lat": (FAST["lat"] + PICKUP["lat"]) / 2, "lng": (FAST["lng"] + PICKUP["lng"]) / 2}
    newcomer = await create_user(conn, role="assistant", **halfway)  # off duty for now
    slow = await _assistant(conn, NEAR)  # nearer than FAST, later by road: never offered
    rider = await create_user(conn, role="client")
    async with (
        client.ws_connect(ws_url(settings, f"/ws/assistant/{newcomer.id}/", newcomer)) as ws_new,
        client.ws_connect(ws_url(settings, f"/ws/assistant/{slow.id}/", slow)) as ws_slow,
    ):
        status, body = await call(
            client, settings, rider, "POST", "/api/assistance/request/", {"pickup": PICKUP}
        )
        assert status == 201, body
        assert [i["assistant_id"] for i in body["nearby_assistants"]] == [fast.id]
        await asyncio.sleep(0.6)  # a few looks for arrivals with nobody new: nothing happens
        status, _ = await call(
            client,
            settings,
            newcomer,
            "POST",
            "/api/profile/assistant-status/",
            {"is_active": True},
        )
        assert status == 200
        offer = await next_of_type(ws_new, "new_assistance_request", timeout=5)
        assert offer["assistance_id"] == body["assistance"]["id"]
        assert offer["eta_source"] == "road"
        assert offer["eta_s"] < body["nearby_assistants"][0]["eta_s"]
        assert not [
            f for f in await frames_within(ws_slow, 0.6) if f["type"] == "new_assistance_request"
        ]


async def test_the_assignment_batch_costs_every_pair_by_road(
    settings: Settings, rt: tuple[Any, asyncpg.Connection]
) -> None:
    """offer_policy assignment: one batch of two requests, every pair routed in one call. By the
    straight line NEAR (≈263 m) would be the cheaper for the pickup; by road FAST is, and the
    port's request goes to the assistant at the port. NEAR hears nothing."""
    client, conn = rt
    await conn.execute(
        "UPDATE dispatch.settings SET value = '\"assignment\"' WHERE key = 'offer_policy'"
    )
    await _set(conn, assignment_window_s=0.5)
    near, fast = await _assistant(conn, NEAR), await _assistant(conn, FAST)
    port = await _assistant(conn, {"lat": DROPOFF["lat"] + 0.0005, "lng": DROPOFF["lng"]})
    riders = [await create_user(conn, role="client") for _ in range(2)]
    async with (
        client.ws_connect(ws_url(settings, f"/ws/assistant/{near.id}/", near)) as ws_near,
        client.ws_connect(ws_url(settings, f"/ws/assistant/{fast.id}/", fast)) as ws_fast,
        client.ws_connect(ws_url(settings, f"/ws/assistant/{port.id}/", port)) as ws_port,
    ):
        sockets = {near.id: ws_near, fast.id: ws_fast, port.id: ws_port}
        jobs = []
        for rider, pickup in zip(riders, (PICKUP, DROPOFF), strict=True):
            status, body = await call(
                client, settings, rider, "POST", "/api/assistance/request/", {"pickup": pickup}
            )
            assert status == 201, body
            jobs.append(body["assistance"]["id"])
        to_fast = await next_of_type(sockets[fast.id], "new_assistance_request", timeout=5)
        to_port = await next_of_type(sockets[port.id], "new_assistance_request", timeout=5)
        assert (to_fast["assistance_id"], to_port["assistance_id"]) == tuple(jobs)
        assert to_fast["batch_id"] == to_port["batch_id"], "one batch decided both"
        assert to_fast["eta_source"] == to_port["eta_source"] == "road"
        assert not [
            f
            for f in await frames_within(sockets[near.id], 0.5)
            if f["type"] == "new_assistance_request"
        ]
    costs = await conn.fetchval(
        "SELECT dispatch.assignment_batch($1) -> 'costs'", to_fast["batch_id"]
    )
    sources = {(c["assistance_id"], c["assistant_id"]): c["eta_source"] for c in costs}
    assert set(sources.values()) == {"road"}
    # A batch of two keeps each request's two cheapest pairs (they hold the optimum): by road,
    # the geodesic nearest NEAR (minutes round the hill) is beaten even by the port's assistant.
    assert sorted(sources) == sorted(
        [(jobs[0], fast.id), (jobs[0], port.id), (jobs[1], fast.id), (jobs[1], port.id)]
    )
