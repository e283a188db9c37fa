"""One date-time parser and one date parser for the whole API (issue 23: D8, D14, D15), over real
HTTP: ISO 8601 with a zone, in range once converted to UTC; numbers and numeric strings are 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from api.app import create_app
from api.openapi import document
from api.schemas.common import DATE_SCHEMA, DATE_TIME_SCHEMA, parse_date, parse_date_time
from tests.support.assist import PICKUP, call
from tests.support.factories import create_user

# Valid ISO 8601, but before year 1 or after year 9999 in UTC (500 before: Python's datetime
# overflowed on the way to the database), or exactly on asyncpg's ±infinity sentinels.
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "1899-12-31T23:59:59Z",
]
# Not ISO 8601 date-times with a zone: epoch seconds as text (201 before: pydantic's lax mode read
# them as Unix time), naive times, dates alone, other scripts' digits.
NOT_ISO = [
    "1796551710",
    "1796551710.5",
    "2030-01-01T10:00:00",
    "2030-01-01",
    "2030-02-30T10:00:00Z",
    "2030-01-01T10:00:00+24:00",
    "\u0662030-01-01T10:00:00Z",
]
BAD_DATE_TIMES = OUT_OF_RANGE + NOT_ISO


def later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def test_the_parser_converts_to_utc_and_keeps_to_its_range():
    at = parse_date_time("2030-01-31T09:30:00.1234567+01:00")
    assert at == datetime(2030, 1, 31, 8, 30, 0, 123456, tzinfo=UTC) and at.tzinfo is UTC
    assert parse_date_time("2030-01-31t08:30z") == datetime(2030, 1, 31, 8, 30, tzinfo=UTC)
    assert parse_date_time("1900-01-01T00:00:00Z") == datetime(1900, 1, 1, tzinfo=UTC)
    assert parse_date_time("9998-12-31T23:59:59.999999Z").year == 9998
    for bad in [*BAD_DATE_TIMES, 1796551710, 1796551710.5, None, True, ["2030-01-01T10:00Z"]]:
        with pytest.raises(ValueError):
            parse_date_time(bad)
    assert str(parse_date("1900-01-01")) == "1900-01-01"
    assert str(parse_date("9998-12-31")) == "9998-12-31"
    for bad in ["0001-01-01", "9999-12-31", "1899-12-31", "20300101", "2030-1-1", 20300101]:
        with pytest.raises(ValueError):
            parse_date(bad)


@pytest.mark.parametrize("value", [*BAD_DATE_TIMES, 1796551710])
async def test_booking_scheduled_for(client, settings, conn, value):
    owner = await create_user(conn, role="client")
    body = {"pickup": PICKUP, "service_type": "towing", "scheduled_for": value}
    status, answer = await call(client, settings, owner, "POST", "/api/bookings/", body)
    assert status == 400, answer
    assert answer["code"] == "VALIDATION_ERROR" and "scheduled_for" in answer["fields"], answer
    stored = await conn.fetchval(
        "SELECT count(*) FROM dispatch.bookings WHERE client_id = $1", owner.id
    )
    assert stored == 0


@pytest.mark.parametrize("value", BAD_DATE_TIMES)
async def test_shifts_since(client, settings, conn, value):
    assistant = await create_user(conn, role="assistant")
    path = "/api/profile/shifts/?" + urlencode({"since": value})
    status, answer = await call(client, settings, assistant, "GET", path)
    assert status == 400, answer
    assert answer["code"] == "VALIDATION_ERROR" and "since" in answer["fields"], answer


@pytest.mark.parametrize("value", BAD_DATE_TIMES)
async def test_dispatch_requests_since(client, settings, conn, value):
    dispatcher = await create_user(conn, role="dispatcher")
    path = "/api/dispatch/requests/?" + urlencode({"since": value})
    status, answer = await call(client, settings, dispatcher, "GET", path)
    assert status == 400, answer
    assert answer["code"] == "VALIDATION_ERROR" and "since" in answer["fields"], answer


@pytest.mark.parametrize("value", [*BAD_DATE_TIMES, 1796551710])
async def test_telematics_recorded_at(client, settings, conn, value):
    user = await create_user(conn, role="assistant")
    good = {
        "lat": PICKUP["lat"],
        "lng": PICKUP["lng"],
        "recorded_at": later(minutes=-1).isoformat(),
    }
    body = {"points": [good, {**good, "recorded_at": value}]}
    status, answer = await call(client, settings, user, "POST", "/api/telematics/", body)
    assert status == 400, answer
    assert list(answer["fields"]) == ["points.1.recorded_at"], answer
    stored = await conn.fetchval(
        "SELECT count(*) FROM dispatch.position_history WHERE user_id = $1", user.id
    )
    assert stored == 0


async def test_valid_date_times_are_the_same_instant_everywhere(client, settings, conn):
    """Offsets are converted, a space may stand for the T; the answers are in UTC with Z."""
    owner = await create_user(conn, role="client")
    when = later(hours=3).replace(microsecond=0)
    local = when.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=5, minutes=30)
    for text in (f"{local:%Y-%m-%dT%H:%M:%S}+05:30", f"{local:%Y-%m-%d %H:%M:%S}+0530"):
        body = {"pickup": PICKUP, "service_type": "towing", "scheduled_for": text}
        status, made = await call(client, settings, owner, "POST", "/api/bookings/", body)
        assert status == 201, made
        assert made["scheduled_for"] == f"{when:%Y-%m-%dT%H:%M:%S}.000Z"
    assistant = await create_user(conn, role="assistant")
    for since in ("1900-01-01T00:00:00Z", "9998-12-31T23:59:59-00:00"):
        path = "/api/profile/shifts/?" + urlencode({"since": since})
        status, shifts = await call(client, settings, assistant, "GET", path)
        assert status == 200 and shifts == [], shifts
    dispatcher = await create_user(conn, role="dispatcher")
    path = "/api/dispatch/requests/?" + urlencode({"since": "1900-01-01T01:00:00+01:00"})
    status, listing = await call(client, settings, dispatcher, "GET", path)
    assert status == 200, listing


AVAILABILITY = "/api/bookings/availability/"


@pytest.mark.parametrize(
    "day", ["0001-01-01", "9999-12-31", "1899-12-31", "1796551710", "2030-01-01T00:00:00Z"]
)
async def test_availability_date_out_of_range_is_400(client, settings, conn, day):
    # 0001-01-01 and 9999-12-31 reached PostgreSQL as -infinity / infinity (asyncpg's sentinels)
    # and answered one slot with naive times.
    user = await create_user(conn, role="client")
    query = urlencode({"lat": PICKUP["lat"], "lng": PICKUP["lng"], "date": day})
    status, answer = await call(client, settings, user, "GET", f"{AVAILABILITY}?{query}")
    assert status == 400, answer
    assert answer["code"] == "VALIDATION_ERROR" and list(answer["fields"]) == ["date"], answer


@pytest.mark.parametrize("day", ["1900-01-01", "9998-12-31"])
async def test_availability_at_the_ends_of_the_range(client, settings, conn, day):
    user = await create_user(conn, role="client")
    query = urlencode({"lat": PICKUP["lat"], "lng": PICKUP["lng"], "date": day})
    status, answer = await call(client, settings, user, "GET", f"{AVAILABILITY}?{query}")
    assert status == 200, answer
    slots = answer["slots"]
    first = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    assert [s["start"] for s in slots] == [
        f"{first + timedelta(hours=h):%Y-%m-%dT%H:%M:%S}Z" for h in range(24)
    ]
    assert slots[-1]["end"] == f"{first + timedelta(days=1):%Y-%m-%dT%H:%M:%S}Z"
    assert not any(s["bookable"] for s in slots)


def _resolve(node: Any, schemas: dict[str, Any], seen: set[str]) -> Any:
    """Every schema node reachable from `node`, following $refs into the components."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                yield from _resolve(schemas[name], schemas, seen)
        yield node
        for value in node.values():
            yield from _resolve(value, schemas, seen)
    elif isinstance(node, list):
        for value in node:
            yield from _resolve(value, schemas, seen)


def test_every_request_date_time_uses_the_one_parser(settings):
    """A date or date-time of any request body or query string documents the shared type's
    grammar: a field declared as a plain `datetime` or `date` (pydantic's lax parsing) fails."""
    doc = document(create_app(settings, db_url="unused"))
    schemas = doc["components"]["schemas"]
    found: list[str] = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            inputs: list[Any] = [p["schema"] for p in op["parameters"] if p["in"] == "query"]
            if "requestBody" in op:
                inputs.append(op["requestBody"])
            for node in _resolve(inputs, schemas, set()):
                if isinstance(node, dict) and node.get("format") in ("date-time", "date"):
                    expected = DATE_TIME_SCHEMA if node["format"] == "date-time" else DATE_SCHEMA
                    assert node.get("pattern") == expected["pattern"], (method, path, node)
                    found.append(f"{method.upper()} {path}")
    # The inputs of issue 23's D8, D14 and D15 are among them.
    assert {
        "POST /api/bookings/",
        "GET /api/profile/shifts/",
        "GET /api/dispatch/requests/",
        "POST /api/telematics/",
        "GET /api/bookings/availability/",
    } <= set(found)
