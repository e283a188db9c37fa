"""Shifts, chat history, tracks and telematics batches over real HTTP: shapes, roles, errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.schemas.assistance import ChatPage
from api.schemas.positions import Track
from api.schemas.scheduling import Shifts
from tests.support.assist import PICKUP, active_assistant, call, job_in_state
from tests.support.factories import auth_header, create_user

TELEMATICS = "/api/telematics/"


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def point(at: datetime, dlat: float = 0.0, **extra: object) -> dict[str, object]:
    return {"lat": PICKUP["lat"] + dlat, "lng": PICKUP["lng"], "recorded_at": iso(at), **extra}


async def test_shifts_follow_the_duty_switch(client, settings, conn):
    assistant = await create_user(conn, role="assistant", lat=36.75, lng=3.04)
    status, body = await call(client, settings, assistant, "GET", "/api/profile/shifts/")
    assert status == 200 and body == []
    for active in (True, False, True):
        status, body = await call(
            client,
            settings,
            assistant,
            "POST",
            "/api/profile/assistant-status/",
            {"is_active": active},
        )
        assert status == 200, body
    status, shifts = await call(client, settings, assistant, "GET", "/api/profile/shifts/")
    assert status == 200 and len(shifts) == 2
    Shifts.model_validate(shifts)
    assert shifts[0]["ended_at"] is None and shifts[1]["ended_at"] is not None
    assert shifts[1]["end_reason"] == "inactive"
    assert set(shifts[0]) >= {"started_at", "ended_at", "online_minutes", "on_job_minutes", "jobs"}
    assert shifts[1]["online_minutes"] == 0 and shifts[1]["jobs"] == 0
    future = iso(datetime.now(UTC) + timedelta(hours=1))
    status, shifts = await call(
        client,
        settings,
        assistant,
        "GET",
        f"/api/profile/shifts/?since={future.replace('+', '%2B')}",
    )
    assert status == 200 and len(shifts) == 1 and shifts[0]["ended_at"] is None
    status, body = await call(
        client, settings, assistant, "GET", "/api/profile/shifts/?since=yesterday"
    )
    assert status == 400 and "since" in body["fields"]
    for role in ("client", "dispatcher"):
        other = await create_user(conn, role=role)
        status, body = await call(client, settings, other, "GET", "/api/profile/shifts/")
        assert status == 403, body
    status, body = await call(client, settings, None, "GET", "/api/profile/shifts/")
    assert status == 401


async def test_chat_history_pages(client, settings, conn):
    job = await job_in_state(client, settings, conn, "accepted")
    ids = []
    for n in range(5):
        sender = job.client.id if n % 2 == 0 else job.assistant.id
        ids.append(
            await conn.fetchval(
                "INSERT INTO dispatch.chat_messages (assistance_id, sender_id, message) "
                "VALUES ($1, $2, $3) RETURNING id",
                job.id,
                sender,
                f"message {n}",
            )
        )
    path = f"/api/assistance/{job.id}/messages/"
    status, page = await call(client, settings, job.client, "GET", f"{path}?limit=2")
    assert status == 200, page
    ChatPage.model_validate(page)
    assert [m["message"] for m in page["results"]] == ["message 4", "message 3"]
    assert page["results"][1]["sender"] == job.assistant.id
    assert page["results"][0]["sent_at"].endswith("Z")
    assert page["next_before"] == ids[3]
    status, page = await call(
        client, settings, job.assistant, "GET", f"{path}?limit=2&before={page['next_before']}"
    )
    assert [m["message"] for m in page["results"]] == ["message 2", "message 1"]
    status, page = await call(client, settings, job.client, "GET", f"{path}?before={ids[1]}")
    assert [m["message"] for m in page["results"]] == ["message 0"] and page["next_before"] is None

    dispatcher = await create_user(conn, role="dispatcher")
    status, page = await call(client, settings, dispatcher, "GET", path.rstrip("/"))
    assert status == 200 and len(page["results"]) == 5
    stranger = await create_user(conn, role="client")
    outsider = await active_assistant(conn)
    for user in (stranger, outsider):
        status, body = await call(client, settings, user, "GET", path)
        assert status == 404 and body["code"] == "ASSISTANCE_NOT_FOUND"
    status, body = await call(
        client, settings, job.client, "GET", "/api/assistance/999999999/messages/"
    )
    assert status == 404
    for bad in ("limit=0", "limit=201", "before=x", "before=0"):
        status, body = await call(client, settings, job.client, "GET", f"{path}?{bad}")
        assert status == 400, (bad, body)
    status, body = await call(client, settings, None, "GET", path)
    assert status == 401


async def test_track_is_the_assistants_path_during_the_job(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    accepted = await conn.fetchval(
        "SELECT accepted_at FROM dispatch.assistance_requests WHERE id = $1", job.id
    )
    # One fix before the accept (not part of the job), three during it, one of the client.
    rows = [
        (job.assistant.id, 3.001, 36.701, accepted - timedelta(minutes=5)),
        (job.assistant.id, 3.002, 36.702, accepted + timedelta(seconds=1)),
        (job.assistant.id, 3.003, 36.703, accepted + timedelta(seconds=2)),
        (job.assistant.id, 3.004, 36.704, accepted + timedelta(seconds=3)),
        (job.client.id, 3.1, 36.8, accepted + timedelta(seconds=2)),
    ]
    await conn.executemany(
        "INSERT INTO dispatch.position_history (user_id, geog, h3_r9, recorded_at) "
        "VALUES ($1, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, 0, $4)",
        rows,
    )
    path = f"/api/assistance/{job.id}/track/"
    status, line = await call(client, settings, job.client, "GET", path)
    assert status == 200, line
    Track.model_validate(line)
    assert line["type"] == "LineString"
    # The accept itself may have stored the assistant's position: only the inserted fixes after
    # the accept are checked, in order.
    coords = [c for c in line["coordinates"] if c[0] in (3.002, 3.003, 3.004)]
    assert coords == [[3.002, 36.702], [3.003, 36.703], [3.004, 36.704]]
    assert [3.001, 36.701] not in line["coordinates"] and [3.1, 36.8] not in line["coordinates"]
    assert len(line["timestamps"]) == len(line["coordinates"])
    assert line["assistance_id"] == job.id and line["assistant_id"] == job.assistant.id
    dispatcher = await create_user(conn, role="dispatcher")
    for user in (job.assistant, dispatcher):
        status, other = await call(client, settings, user, "GET", path)
        assert status == 200 and other["coordinates"] == line["coordinates"]
    stranger = await create_user(conn, role="client")
    status, body = await call(client, settings, stranger, "GET", path)
    assert status == 404 and body["code"] == "ASSISTANCE_NOT_FOUND"

    waiting = await job_in_state(client, settings, conn, "requested")
    status, line = await call(
        client, settings, waiting.client, "GET", f"/api/assistance/{waiting.id}/track"
    )
    assert status == 200 and line["coordinates"] == [] and line["assistant_id"] is None
    Track.model_validate(line)


@pytest.mark.parametrize("state", ["requested", "accepted", "completed"])
async def test_every_reader_of_a_request_follows_the_view_rule(client, settings, conn, state):
    """Issue 23 D3: a request without an assistant was readable by anyone on its track (a NULL
    assistant made the party test NULL, and NULL let the reader through). View, track, chat
    history, cost lines and invoice answer alike: parties and dispatchers read, nobody else."""
    job = await job_in_state(client, settings, conn, state)
    readers = {
        "view/{id}/": "ASSISTANCE_NOT_FOUND",
        "{id}/track/": "ASSISTANCE_NOT_FOUND",
        "{id}/messages/": "ASSISTANCE_NOT_FOUND",
        "{id}/cost-lines/": "ASSISTANCE_NOT_FOUND",
    }
    if state == "completed":
        readers["{id}/invoice/"] = "INVOICE_NOT_FOUND"
    stranger = await create_user(conn, role="client")
    other_assistant = await active_assistant(conn, dlat=0.3)
    dispatcher = await create_user(conn, role="dispatcher")
    parties = [job.client] + ([job.assistant] if job.assistant else [])
    for reader, code in readers.items():
        path = "/api/assistance/" + reader.format(id=job.id)
        for user in (*parties, dispatcher):
            status, body = await call(client, settings, user, "GET", path)
            assert status == 200, (path, user.role, body)
        for user in (stranger, other_assistant):
            status, body = await call(client, settings, user, "GET", path)
            assert (status, body["code"]) == (404, code), (path, user.role)
    # The rule itself, from SQL: true or false, never NULL, unknown users and requests included.
    for user, expected in ((job.client, True), (dispatcher, True), (stranger, False)):
        allowed = await conn.fetchval(
            "SELECT dispatch.can_read_assistance(assistance_id => $1, user_id => $2)",
            job.id,
            user.id,
        )
        assert allowed is expected
    assert (
        await conn.fetchval("SELECT dispatch.can_read_assistance(-1, $1)", job.client.id) is False
    )
    assert await conn.fetchval("SELECT dispatch.can_read_assistance($1, -1)", job.id) is False


async def test_telematics_batch(client, settings, conn):
    assistant = await create_user(conn, role="assistant")
    now = datetime.now(UTC).replace(microsecond=0)
    # Out of order: the newest (index 1) becomes the position; all three go to the history.
    points = [
        point(now - timedelta(seconds=20), 0.001, speed=40.0, heading=90.0),
        point(now - timedelta(seconds=1), 0.003, speed=55.5, heading=91.0),
        point(now - timedelta(seconds=10), 0.002),
    ]
    status, body = await call(client, settings, assistant, "POST", TELEMATICS, {"points": points})
    assert status == 202 and body == {"accepted": 3}
    pos = await conn.fetchrow(
        "SELECT ST_Y(geog::geometry) AS lat, updated_at FROM dispatch.positions WHERE user_id = $1",
        assistant.id,
    )
    assert pos["lat"] == pytest.approx(PICKUP["lat"] + 0.003) and pos[
        "updated_at"
    ] == now - timedelta(seconds=1)
    hist = await conn.fetch(
        "SELECT recorded_at, speed_kmh, heading_deg FROM dispatch.position_history "
        "WHERE user_id = $1 AND recorded_at > $2 ORDER BY recorded_at",
        assistant.id,
        now - timedelta(minutes=1),
    )
    assert [(r["speed_kmh"], r["heading_deg"]) for r in hist] == [
        (40.0, 90.0),
        (None, None),
        (55.5, 91.0),
    ]

    # An older batch adds history but does not move the position back.
    status, body = await call(
        client,
        settings,
        assistant,
        "POST",
        TELEMATICS,
        {"points": [point(now - timedelta(minutes=5), 0.009)]},
    )
    assert status == 202 and body == {"accepted": 1}
    lat = await conn.fetchval(
        "SELECT ST_Y(geog::geometry) FROM dispatch.positions WHERE user_id = $1", assistant.id
    )
    assert lat == pytest.approx(PICKUP["lat"] + 0.003)


async def _history(conn, user_id: int) -> list[tuple]:
    rows = await conn.fetch(
        "SELECT recorded_at, ST_Y(geog::geometry) AS lat, speed_kmh, "
        "heading_deg FROM dispatch.position_history WHERE user_id = $1 ORDER BY recorded_at",
        user_id,
    )
    return [tuple(r) for r in rows]


async def _position(conn, user_id: int) -> tuple[float, datetime]:
    row = await conn.fetchrow(
        "SELECT ST_Y(geog::geometry) AS lat, updated_at FROM dispatch.positions WHERE user_id = $1",
        user_id,
    )
    return row["lat"], row["updated_at"]


async def test_telematics_points_of_one_instant_are_never_mixed(client, settings, conn):
    """Issue 23 D13a: of two points with the newest recorded_at, the position took one and the
    history got the other's speed copied onto both. Now the batch's last point of an instant is
    kept whole, in the history and as the position, whichever of them carries a speed."""
    assistant = await create_user(conn, role="assistant")
    now = datetime.now(UTC).replace(microsecond=0)
    first, second = now - timedelta(seconds=20), now - timedelta(seconds=10)
    batches = [
        [point(first, 0.001), point(first, 0.002, speed=50.0, heading=90.0)],
        [point(second, 0.003, speed=60.0, heading=45.0), point(second, 0.004)],
    ]
    for points in batches:
        status, body = await call(
            client, settings, assistant, "POST", TELEMATICS, {"points": points}
        )
        assert status == 202 and body == {"accepted": 2}
        # The position is the last point of the batch's newest instant, as the history keeps it.
        lat, _ = await _position(conn, assistant.id)
        assert lat == pytest.approx(points[1]["lat"])
    assert await _history(conn, assistant.id) == [
        (first, pytest.approx(PICKUP["lat"] + 0.002), 50.0, 90.0),
        (second, pytest.approx(PICKUP["lat"] + 0.004), None, None),
    ]


async def test_a_retried_telematics_batch_stores_nothing_again(client, settings, conn):
    """Issue 23 D13b: exact duplicates (a batch sent twice after a lost answer) were stored twice.
    One row per user and instant: the retry answers the same 202 and adds nothing."""
    assistant = await create_user(conn, role="assistant")
    now = datetime.now(UTC).replace(microsecond=0)
    points = [
        point(now - timedelta(seconds=s), s * 1e-4, speed=float(s), heading=float(s))
        for s in (30, 20, 10)
    ]
    for _ in range(2):
        status, body = await call(
            client, settings, assistant, "POST", TELEMATICS, {"points": points}
        )
        assert status == 202 and body == {"accepted": 3}
    history = await _history(conn, assistant.id)
    assert [(r[2], r[3]) for r in history] == [(30.0, 30.0), (20.0, 20.0), (10.0, 10.0)]
    # A point already stored, inside a new batch: only the new point is added.
    newer = point(now - timedelta(seconds=5), 0.01)
    status, _ = await call(
        client, settings, assistant, "POST", TELEMATICS, {"points": [points[2], newer]}
    )
    assert status == 202
    assert len(await _history(conn, assistant.id)) == 4


async def test_a_point_ahead_of_the_clock_does_not_hide_later_fixes(client, settings, conn):
    """Issue 23 D13c: a point up to the allowed skew (120 s) ahead became the position dated in
    the future, and every later REST or WebSocket fix was dropped as older while update-location
    answered 200 with the old position. A future point now counts as taken when it arrives: it is
    the position until the next fix, and the history keeps the device's own time."""
    user = await create_user(conn, role="assistant")
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=100)
    status, _ = await call(
        client, settings, user, "POST", TELEMATICS, {"points": [point(ahead, 0.05)]}
    )
    assert status == 202
    lat, updated_at = await _position(conn, user.id)
    assert lat == pytest.approx(PICKUP["lat"] + 0.05)
    assert updated_at < ahead - timedelta(seconds=90)  # dated on arrival, not 100 s ahead
    assert [r[0] for r in await _history(conn, user.id)] == [ahead]

    fix = {"lat": PICKUP["lat"] + 0.06, "lng": PICKUP["lng"]}
    status, body = await call(client, settings, user, "POST", "/api/profile/update-location/", fix)
    assert status == 200 and body["lat"] == pytest.approx(fix["lat"]), body
    assert (await _position(conn, user.id))[0] == pytest.approx(fix["lat"])
    # A device point of the present (behind the future one by the device's clock) moves it too.
    present = point(datetime.now(UTC), 0.07)
    status, _ = await call(client, settings, user, "POST", TELEMATICS, {"points": [present]})
    assert status == 202
    assert (await _position(conn, user.id))[0] == pytest.approx(PICKUP["lat"] + 0.07)
    # And a WebSocket frame (the batched path) after another point from the future.
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=100)
    status, _ = await call(client, settings, user, "POST", TELEMATICS, {"points": [point(ahead)]})
    assert status == 202
    token = auth_header(settings, user)["Authorization"].split(" ", 1)[1]
    async with client.ws_connect(f"/ws/assistant/{user.id}/?token={token}") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "location", "lat": PICKUP["lat"] + 0.08, "lng": PICKUP["lng"]})
        for _ in range(100):
            if (await _position(conn, user.id))[0] == pytest.approx(PICKUP["lat"] + 0.08):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the WebSocket fix never became the position")


async def test_telematics_thousand_points_in_one_go(client, settings, conn):
    user = await create_user(conn, role="client")
    now = datetime.now(UTC)
    points = [point(now - timedelta(seconds=i), i * 1e-5) for i in range(1000)]
    status, body = await call(client, settings, user, "POST", TELEMATICS, {"points": points})
    assert status == 202 and body == {"accepted": 1000}
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM dispatch.position_history WHERE user_id = $1", user.id
        )
        == 1000
    )
    status, body = await call(
        client, settings, user, "POST", TELEMATICS, {"points": points + points[:1]}
    )
    assert status == 400 and "points" in body["fields"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"lat": 91.0}, "points.2.lat"),
        ({"lng": "3.0"}, "points.2.lng"),
        ({"recorded_at": "2026-01-01T10:00:00"}, "points.2.recorded_at"),
        ({"recorded_at": 1700000000}, "points.2.recorded_at"),
        # Offsets from the moment the test runs (not from collection: the suite takes minutes).
        ({"recorded_at": timedelta(minutes=10)}, "points.2.recorded_at"),
        ({"recorded_at": -timedelta(days=31)}, "points.2.recorded_at"),
        ({"speed": -1.0}, "points.2.speed"),
        ({"heading": 360.0}, "points.2.heading"),
    ],
)
async def test_telematics_bad_point_named_by_index(client, settings, conn, bad, field):
    user = await create_user(conn, role="assistant")
    now = datetime.now(UTC)
    bad = {k: iso(now + v) if isinstance(v, timedelta) else v for k, v in bad.items()}
    points = [
        point(now - timedelta(seconds=3)),
        point(now - timedelta(seconds=2)),
        {**point(now), **bad},
    ]
    status, body = await call(client, settings, user, "POST", TELEMATICS, {"points": points})
    assert status == 400, body
    assert list(body["fields"]) == [field], body
    # Nothing of the batch was stored, not even its valid points.
    for table in ("position_history", "positions"):
        count = await conn.fetchval(
            f"SELECT count(*) FROM dispatch.{table} WHERE user_id = $1", user.id
        )
        assert count == 0, table


async def test_telematics_envelope_errors(client, settings, conn):
    user = await create_user(conn, role="client")
    for body in ({}, {"points": []}, {"points": "x"}, {"points": [1]}):
        status, answer = await call(client, settings, user, "POST", TELEMATICS, body)
        assert status == 400 and answer["code"] == "VALIDATION_ERROR", answer
    status, answer = await call(client, settings, None, "POST", TELEMATICS, {"points": []})
    assert status == 401
