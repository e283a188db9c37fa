"""Vehicles over real HTTP: CRUD of a client's own, validation, others' as 404, vehicle_id on requests."""

from __future__ import annotations

import datetime

import asyncpg
import pytest

from api.schemas.fleet import Vehicle, Vehicles
from dispatch.fleet.vehicles import normalise_plate, normalise_vin, vin_check_digit
from tests.support.assist import PICKUP, call
from tests.support.factories import auth_header, create_user

VEHICLES = "/api/vehicles/"
CIVIC = {
    "make": "Honda",
    "model": "Civic",
    "year": 2020,
    "licensePlate": " abc 123.de ",
    "vin": "1hgbh41jxmn109186",
    "fuelType": "gasoline",
}


async def test_crud_of_own_vehicles(client, settings, conn):
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "POST", VEHICLES, CIVIC)
    assert status == 201, body
    vid = body["id"]
    assert body["license_plate"] == body["licensePlate"] == "ABC-123-DE"
    assert body["vin"] == "1HGBH41JXMN109186"
    assert body["fuel_type"] == body["fuelType"] == "gasoline"
    assert body["vehicle_class"] == "light" and body["year"] == 2020
    assert body["created_at"].endswith("Z") and body["createdAt"] == body["created_at"]

    status, body = await call(client, settings, owner, "GET", VEHICLES)
    assert status == 200 and [v["id"] for v in body] == [vid]
    Vehicles.model_validate(body)
    status, body = await call(client, settings, owner, "GET", f"{VEHICLES}{vid}")
    assert status == 200 and body["make"] == "Honda"
    Vehicle.model_validate(body)

    status, body = await call(
        client,
        settings,
        owner,
        "PATCH",
        f"{VEHICLES}{vid}/",
        {"vehicle_class": "heavy", "vin": None},
    )
    assert status == 200, body
    assert body["vehicle_class"] == "heavy" and body["vin"] is None and body["model"] == "Civic"

    replacement = {"make": "Iveco", "model": "Daily", "year": 2018, "license_plate": "77-aa-1"}
    status, body = await call(client, settings, owner, "PUT", f"{VEHICLES}{vid}/", replacement)
    assert status == 200, body
    assert (body["make"], body["license_plate"], body["vehicle_class"], body["fuel_type"]) == (
        "Iveco",
        "77-AA-1",
        "light",
        None,
    )

    resp = await client.delete(f"{VEHICLES}{vid}/", headers=auth_header(settings, owner))
    assert resp.status == 204
    status, body = await call(client, settings, owner, "GET", f"{VEHICLES}{vid}/")
    assert status == 404 and body["code"] == "VEHICLE_NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", CIVIC), ("PATCH", {"model": "Jazz"}), ("DELETE", None)],
)
async def test_another_clients_vehicle_is_not_found(client, settings, conn, method, body):
    owner = await create_user(conn, role="client")
    other = await create_user(conn, role="client")
    _, created = await call(client, settings, owner, "POST", VEHICLES, CIVIC)
    status, answer = await call(
        client, settings, other, method, f"{VEHICLES}{created['id']}/", body
    )
    assert status == 404 and answer["code"] == "VEHICLE_NOT_FOUND"
    status, mine = await call(client, settings, owner, "GET", f"{VEHICLES}{created['id']}/")
    assert status == 200 and mine["model"] == "Civic", "nothing changed"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"year": 1899}, "year"),
        ({"year": datetime.date.today().year + 2}, "year"),
        ({"year": "2020"}, "year"),
        ({"vin": "1HGBH41J0MN109186"}, "vin"),  # wrong check digit
        ({"vin": "1HGBH41JXMN10918"}, "vin"),  # 16 characters
        ({"vin": "IHGBH41JXMN109186"}, "vin"),  # I is never used
        ({"licensePlate": " - "}, "licensePlate"),  # errors name the key sent
        ({"license_plate": "AB#12"}, "license_plate"),
        ({"fuelType": "coal"}, "fuelType"),
        ({"vehicle_class": "medium"}, "vehicle_class"),
        ({"make": ""}, "make"),
    ],
)
async def test_invalid_vehicles_are_400_naming_the_field(client, settings, conn, change, field):
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "POST", VEHICLES, {**CIVIC, **change})
    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR" and field in body["fields"], body


async def test_missing_fields_and_null_patch(client, settings, conn):
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "POST", VEHICLES, {"make": "Kia"})
    assert status == 400 and {"model", "year", "license_plate"} <= set(body["fields"])
    _, created = await call(client, settings, owner, "POST", VEHICLES, CIVIC)
    status, body = await call(
        client, settings, owner, "PATCH", f"{VEHICLES}{created['id']}/", {"make": None}
    )
    assert status == 400 and body["fields"] == {"make": ["Cannot be null."]}


async def test_same_plate_twice_is_a_conflict(client, settings, conn):
    owner = await create_user(conn, role="client")
    assert (await call(client, settings, owner, "POST", VEHICLES, CIVIC))[0] == 201
    again = {**CIVIC, "licensePlate": "ABC-123 DE", "vin": None}
    status, body = await call(client, settings, owner, "POST", VEHICLES, again)
    assert status == 409 and body["code"] == "VEHICLE_EXISTS"
    # Another client may own a car with the same plate number elsewhere: no leak, no conflict.
    other = await create_user(conn, role="client")
    assert (await call(client, settings, other, "POST", VEHICLES, CIVIC))[0] == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", VEHICLES),
        ("POST", VEHICLES),
        ("GET", f"{VEHICLES}1/"),
        ("PUT", f"{VEHICLES}1/"),
        ("PATCH", f"{VEHICLES}1/"),
        ("DELETE", f"{VEHICLES}1/"),
    ],
)
@pytest.mark.parametrize("role", ["assistant", "dispatcher", None])
async def test_vehicle_routes_are_for_clients(client, settings, conn, method, path, role):
    user = None if role is None else await create_user(conn, role=role)
    status, body = await call(client, settings, user, method, path, CIVIC)
    assert status == (401 if role is None else 403)
    assert body["code"] in {"NOT_AUTHENTICATED", "PERMISSION_DENIED"} and body["error"]


async def test_malformed_vehicle_id_is_404(client, settings, conn):
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "GET", f"{VEHICLES}abc/")
    assert status == 404 and body["code"] == "VEHICLE_NOT_FOUND"


async def test_request_with_vehicle_takes_its_class(client, settings, conn):
    owner = await create_user(conn, role="client")
    _, truck = await call(
        client, settings, owner, "POST", VEHICLES, {**CIVIC, "vehicle_class": "heavy"}
    )
    status, body = await call(
        client,
        settings,
        owner,
        "POST",
        "/api/assistance/request/",
        {"pickup": PICKUP, "vehicle_id": truck["id"], "vehicle_type": "light"},
    )
    assert status == 201, body
    assert body["assistance"]["vehicle_type"] == "heavy"
    assert body["assistance"]["price_breakdown"][0]["amount"] == 3000  # the heavy tariff


async def test_request_with_someone_elses_vehicle_is_404_and_creates_nothing(
    client, settings, conn
):
    owner = await create_user(conn, role="client")
    thief = await create_user(conn, role="client")
    _, car = await call(client, settings, owner, "POST", VEHICLES, CIVIC)
    for vehicle_id in (car["id"], car["id"] + 1000):
        status, body = await call(
            client,
            settings,
            thief,
            "POST",
            "/api/assistance/request/",
            {"pickup": PICKUP, "vehicleId": vehicle_id},
        )
        assert status == 404 and body["code"] == "VEHICLE_NOT_FOUND"
    count = await conn.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = $1", thief.id
    )
    assert count == 0


def test_plate_and_vin_rules():
    assert normalise_plate("ab_12/cd") == "AB-12-CD"
    assert normalise_vin(" 1m8gdm9axkp042788 ") == "1M8GDM9AXKP042788"
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_check_digit("VF1RJA00961234567") == "9"
    with pytest.raises(ValueError, match="check digit"):
        normalise_vin("1M8GDM9A1KP042788")


# --- a vehicle in use is not deleted; nothing keeps a dangling id (issue 23 D18) -----------


def _in_hours(hours: float) -> str:
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours)
    return at.isoformat().replace("+00:00", "Z")


async def _booking(client, settings, owner, vehicle_id: int) -> dict:
    body = {
        "pickup": PICKUP,
        "service_type": "towing",
        "vehicle_id": vehicle_id,
        "scheduled_for": _in_hours(2),
    }
    status, made = await call(client, settings, owner, "POST", "/api/bookings/", body)
    assert status == 201, made
    return made


async def _delete(client, settings, owner, vehicle_id: int) -> tuple[int, object]:
    resp = await client.delete(f"{VEHICLES}{vehicle_id}/", headers=auth_header(settings, owner))
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def test_a_vehicle_with_a_scheduled_booking_is_not_deleted(client, settings, conn):
    owner = await create_user(conn, role="client")
    _, vehicle = await call(client, settings, owner, "POST", VEHICLES, CIVIC)
    booking = await _booking(client, settings, owner, vehicle["id"])
    status, body = await _delete(client, settings, owner, vehicle["id"])
    assert status == 409, body
    assert body["code"] == "VEHICLE_IN_USE" and body["booking_id"] == booking["id"]
    assert (await call(client, settings, owner, "GET", f"{VEHICLES}{vehicle['id']}/"))[0] == 200

    status, _ = await call(
        client, settings, owner, "PATCH", f"/api/bookings/{booking['id']}/", {"status": "canceled"}
    )
    assert status == 200
    assert (await _delete(client, settings, owner, vehicle["id"]))[0] == 204
    # The canceled booking forgets the vehicle instead of pointing at nothing.
    status, listed = await call(client, settings, owner, "GET", "/api/bookings/")
    assert [(b["id"], b["vehicle_id"]) for b in listed["results"]] == [(booking["id"], None)]
    assert listed["results"][0]["vehicle_type"] == "light"


async def test_a_vehicle_whose_booking_became_an_open_job_is_not_deleted(client, settings, conn):
    owner = await create_user(conn, role="client")
    _, vehicle = await call(client, settings, owner, "POST", VEHICLES, CIVIC)
    booking = await _booking(client, settings, owner, vehicle["id"])
    # The booking falls due and converts (as the activator does, now rather than in 2 hours).
    await conn.execute(
        "UPDATE dispatch.bookings SET scheduled_for = now() + interval '5 minutes' WHERE id = $1",
        booking["id"],
    )
    assert await conn.fetchval("SELECT dispatch.activate_due_bookings()") >= 1
    job = await conn.fetchval(
        "SELECT assistance_id FROM dispatch.bookings WHERE id = $1", booking["id"]
    )
    assert job is not None

    status, body = await _delete(client, settings, owner, vehicle["id"])
    assert status == 409 and body["code"] == "VEHICLE_IN_USE", body
    assert (body["booking_id"], body["assistance_id"]) == (booking["id"], job)

    status, _ = await call(
        client, settings, owner, "PATCH", f"/api/assistance/update/{job}/", {"status": "canceled"}
    )
    assert status == 200
    assert (await _delete(client, settings, owner, vehicle["id"]))[0] == 204
    row = await conn.fetchrow(
        "SELECT status, vehicle_id, assistance_id FROM dispatch.bookings WHERE id = $1",
        booking["id"],
    )
    assert (row["status"], row["vehicle_id"], row["assistance_id"]) == ("converted", None, job)


async def test_no_booking_points_at_a_missing_vehicle(conn):
    """The database itself keeps the rule: a booking naming no vehicle row cannot be stored."""
    owner = await create_user(conn, role="client")
    dangling = await conn.fetchval("SELECT coalesce(max(id), 0) + 1000 FROM dispatch.vehicles")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await conn.execute(
            "INSERT INTO dispatch.bookings (client_id, service_type, vehicle_type, vehicle_id,"
            " pickup, pickup_h3_r7, neighbour_cells_r7, scheduled_for)"
            " VALUES ($1, 'towing', 'light', $2, ST_MakePoint(3, 36)::geography, 0, '{}', now())",
            owner.id,
            dangling,
        )
    assert caught.value.constraint_name == "bookings_vehicle_fkey"
