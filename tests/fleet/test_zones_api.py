"""Service zones and the catalogue over real HTTP: dispatcher CRUD, GeoJSON, refusals, pricing."""

from __future__ import annotations

import pytest

from api.schemas.fleet import Services, Zone, Zones
from tests.support.assist import PICKUP, active_assistant, call
from tests.support.factories import auth_header, create_user

ZONES = "/api/dispatch/zones/"
SERVICES = "/api/services/"


def square(lng: float, lat: float, size: float) -> dict:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


# A centre around the test pickup (central Algiers) and a closed area next to it.
CENTRE = {
    "name": "Test centre",
    "geometry": square(PICKUP["lng"] - 0.01, PICKUP["lat"] - 0.01, 0.02),
    "tariffs": [
        {"service_type": "towing", "vehicle_type": "light", "base_fare": 2200, "per_km": 65}
    ],
}
CLOSED_SPOT = {"lat": 36.9, "lng": 3.3}
CLOSED = {
    "name": "Test closed area",
    "geometry": square(CLOSED_SPOT["lng"] - 0.01, CLOSED_SPOT["lat"] - 0.01, 0.02),
    "serviceable": False,
}


async def dispatcher(conn):
    return await create_user(conn, role="dispatcher")


async def test_zone_crud_with_geojson_in_and_out(client, settings, conn):
    ops = await dispatcher(conn)
    status, zone = await call(client, settings, ops, "POST", ZONES, CENTRE)
    assert status == 201, zone
    Zone.model_validate(zone)
    assert zone["name"] == "Test centre" and zone["serviceable"] is True
    assert zone["geometry"]["type"] == "MultiPolygon"
    assert zone["geometry"]["coordinates"] == [CENTRE["geometry"]["coordinates"]]
    assert zone["tariffs"] == [
        {"service_type": "towing", "vehicle_type": "light", "base_fare": 2200, "per_km": 65}
    ]
    assert 3.9 < zone["area_km2"] < 4.0  # 2.22 km x 1.78 km at 36.75 N

    status, listing = await call(client, settings, ops, "GET", ZONES)
    assert status == 200 and listing["count"] == len(listing["results"]) >= 1
    Zones.model_validate(listing)
    assert zone["id"] in [z["id"] for z in listing["results"]]
    status, one = await call(client, settings, ops, "GET", f"{ZONES}{zone['id']}")
    assert status == 200 and one == zone

    status, changed = await call(
        client, settings, ops, "PUT", f"{ZONES}{zone['id']}/", {"serviceable": False, "tariffs": []}
    )
    assert status == 200, changed
    assert changed["serviceable"] is False and changed["tariffs"] == []
    assert changed["geometry"] == zone["geometry"] and changed["name"] == zone["name"]

    resp = await client.delete(f"{ZONES}{zone['id']}/", headers=auth_header(settings, ops))
    assert resp.status == 204
    for method in ("GET", "PUT", "DELETE"):
        status, body = await call(client, settings, ops, method, f"{ZONES}{zone['id']}/", {})
        assert status == 404 and body["code"] == "ZONE_NOT_FOUND"


BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (BOW_TIE, "Self-intersection[0.5 0.5]"),
        (
            {"type": "Point", "coordinates": [3.0, 36.7]},
            "Must be a GeoJSON Polygon or MultiPolygon.",
        ),
        (
            {"type": "LineString", "coordinates": [[3.0, 36.7], [3.1, 36.7]]},
            "Must be a GeoJSON Polygon or MultiPolygon.",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}, "Every ring needs 4"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "Every ring needs 4",
        ),
        ({"type": "Polygon", "coordinates": "nope"}, "Not a well-formed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 1], [0, 0]]]}, "Coordinates"),
    ],
)
async def test_invalid_geometry_is_400_with_the_reason(client, settings, conn, geometry, reason):
    ops = await dispatcher(conn)
    status, body = await call(
        client, settings, ops, "POST", ZONES, {**CENTRE, "geometry": geometry}
    )
    assert status == 400, body
    assert body["code"] == "INVALID_GEOMETRY"
    assert body["fields"]["geometry"][0].startswith(reason), body
    status, listing = await call(client, settings, ops, "GET", ZONES)
    assert "Test centre" not in [z["name"] for z in listing["results"]], "nothing was stored"


async def test_zone_body_validation_and_conflicts(client, settings, conn):
    ops = await dispatcher(conn)
    status, body = await call(client, settings, ops, "POST", ZONES, {"name": "x"})
    assert status == 400 and "geometry" in body["fields"]
    doubled = {**CENTRE, "tariffs": CENTRE["tariffs"] * 2}
    status, body = await call(client, settings, ops, "POST", ZONES, doubled)
    assert status == 400 and "tariffs" in body["fields"]
    bad_money = {**CENTRE, "tariffs": [{**CENTRE["tariffs"][0], "base_fare": 10.005}]}
    status, body = await call(client, settings, ops, "POST", ZONES, bad_money)
    assert status == 400 and "tariffs.0.base_fare" in body["fields"]
    assert (await call(client, settings, ops, "POST", ZONES, CENTRE))[0] == 201
    status, body = await call(client, settings, ops, "POST", ZONES, CENTRE)
    assert status == 409 and body["code"] == "ZONE_NAME_TAKEN"
    status, body = await call(client, settings, ops, "PUT", f"{ZONES}x/", {})
    assert status == 404 and body["code"] == "ZONE_NOT_FOUND"
    status, body = await call(client, settings, ops, "PUT", f"{ZONES}987654321/", {"name": "y"})
    assert status == 404 and body["code"] == "ZONE_NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ZONES),
        ("POST", ZONES),
        ("GET", f"{ZONES}1/"),
        ("PUT", f"{ZONES}1/"),
        ("DELETE", f"{ZONES}1/"),
    ],
)
@pytest.mark.parametrize("role", ["client", "assistant", None])
async def test_zone_routes_are_for_dispatchers(client, settings, conn, method, path, role):
    user = None if role is None else await create_user(conn, role=role)
    status, body = await call(client, settings, user, method, path, CENTRE)
    assert status == (401 if role is None else 403)
    assert body["error"] and body["code"] in {"NOT_AUTHENTICATED", "PERMISSION_DENIED"}


async def test_a_request_is_priced_by_its_zone(client, settings, conn):
    ops = await dispatcher(conn)
    _, zone = await call(client, settings, ops, "POST", ZONES, CENTRE)
    owner = await create_user(conn, role="client")
    status, body = await call(
        client, settings, owner, "POST", "/api/assistance/request/", {"pickup": PICKUP}
    )
    assert status == 201, body
    job = body["assistance"]
    assert job["price_breakdown"][0] == {"label": "Base fare (Test centre)", "amount": 2200}
    assert job["total_price"] == 2200
    stored = await conn.fetchval(
        "SELECT price -> 'zone' FROM dispatch.assistance_requests WHERE id = $1", job["id"]
    )
    assert stored == {"id": zone["id"], "name": "Test centre"}


async def test_out_of_service_area_is_409_before_anyone_is_notified(client, settings, conn):
    ops = await dispatcher(conn)
    _, zone = await call(client, settings, ops, "POST", ZONES, CLOSED)
    owner = await create_user(conn, role="client")
    near = await active_assistant(conn)
    await conn.execute(
        "UPDATE dispatch.positions SET geog = ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography"
        " WHERE user_id = $3",
        CLOSED_SPOT["lat"],
        CLOSED_SPOT["lng"],
        near.id,
    )
    status, body = await call(
        client, settings, owner, "POST", "/api/assistance/request/", {"pickup": CLOSED_SPOT}
    )
    assert status == 409, body
    assert body["code"] == "OUT_OF_SERVICE_AREA"
    assert body["zone"] == {"id": zone["id"], "name": "Test closed area"}
    stored = await conn.fetchval(
        "SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = $1", owner.id
    )
    assert stored == 0
    status, body = await call(
        client,
        settings,
        owner,
        "GET",
        f"{SERVICES}?lat={CLOSED_SPOT['lat']}&lng={CLOSED_SPOT['lng']}",
    )
    assert status == 409 and body["code"] == "OUT_OF_SERVICE_AREA"


@pytest.mark.parametrize("role", ["client", "assistant", "dispatcher"])
async def test_catalogue_for_any_role(client, settings, conn, role):
    ops = await dispatcher(conn)
    _, zone = await call(client, settings, ops, "POST", ZONES, CENTRE)
    user = await create_user(conn, role=role)
    query = f"{SERVICES}?latitude={PICKUP['lat']}&longitude={PICKUP['lng']}"
    status, items = await call(client, settings, user, "GET", query)
    assert status == 200, items
    Services.model_validate(items)
    pairs = {(i["service_type"], i["vehicle_type"]): i for i in items}
    assert set(pairs) == {(s, v) for s in ("towing", "repair") for v in ("light", "heavy")}
    towing = pairs["towing", "light"]
    assert (towing["base_fare"], towing["per_km"], towing["currency"]) == (2200, 65, "DZD")
    assert towing["zone"] == {"id": zone["id"], "name": "Test centre"}
    assert towing["surge_multiplier"] >= 1
    heavy = pairs["towing", "heavy"]
    assert (heavy["base_fare"], heavy["per_km"]) == (3000, 150), "default where the zone has none"
    status, items = await call(client, settings, user, "GET", f"{SERVICES}?lat=10&lng=10")
    assert status == 200 and all(i["zone"] is None for i in items)


@pytest.mark.parametrize(
    "query",
    ["", "?lat=36.7", "?lat=abc&lng=3", "?lat=91&lng=3", "?lat=36&lng=-181", "?lat=nan&lng=3"],
)
async def test_catalogue_needs_a_valid_point(client, settings, conn, query):
    user = await create_user(conn, role="client")
    status, body = await call(client, settings, user, "GET", f"{SERVICES}{query}")
    assert status == 400 and body["code"] == "VALIDATION_ERROR" and body["fields"]


async def test_catalogue_needs_authentication(client):
    resp = await client.get(f"{SERVICES}?lat=36.7&lng=3.0")
    assert resp.status == 401
    assert (await resp.json())["code"] == "NOT_AUTHENTICATED"


async def test_a_quote_its_column_cannot_hold_is_409(client, settings, conn):
    """A zone's per-km price within its bound times a long trip overflowed the request's
    total_price (numeric(12, 2)) with a 500; the quote is refused with a code instead."""
    ops = await dispatcher(conn)
    dear = {
        **CENTRE,
        "tariffs": [
            {
                "service_type": "towing",
                "vehicle_type": "light",
                "base_fare": 0,
                "per_km": 10_000_000,
            }
        ],
    }
    assert (await call(client, settings, ops, "POST", ZONES, dear))[0] == 201
    owner = await create_user(conn, role="client")
    far = {"pickup": PICKUP, "dropoff": {"lat": 46.75, "lng": 3.04}}  # 1,111 km north
    status, body = await call(client, settings, owner, "POST", "/api/assistance/request/", far)
    assert status == 409, body
    assert body["code"] == "QUOTE_LIMIT_EXCEEDED" and body["quote_limit"] == 9999999999.99
    near = {"pickup": PICKUP, "dropoff": {"lat": PICKUP["lat"] + 0.01, "lng": PICKUP["lng"]}}
    status, body = await call(client, settings, owner, "POST", "/api/assistance/request/", near)
    assert status == 201, body


# --- zone geometry and names (issue 23 D5, D9) ----------------------------------------------

ALGIERS = {"lat": 36.7538, "lng": 3.0588}
WORLD = {
    "type": "Polygon",
    "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
}
STRIP = {  # 1 degree wide, centred on the antimeridian, drawn across it
    "type": "Polygon",
    "coordinates": [[[179.5, 0], [-179.5, 0], [-179.5, 1], [179.5, 1], [179.5, 0]]],
}
SPLIT_STRIP = {  # the same strip as two polygons that meet at 180 / -180
    "type": "MultiPolygon",
    "coordinates": [
        [[[179.5, 0], [180, 0], [180, 1], [179.5, 1], [179.5, 0]]],
        [[[-180, 0], [-179.5, 0], [-179.5, 1], [-180, 1], [-180, 0]]],
    ],
}


async def services_at(client, settings, user, point) -> tuple[int, object]:
    return await call(
        client, settings, user, "GET", f"{SERVICES}?lat={point['lat']}&lng={point['lng']}"
    )


async def test_a_zone_across_the_antimeridian_is_refused_and_its_split_covers_only_itself(
    client, settings, conn
):
    """Drawn across the antimeridian, a strip was stored as the other 358 degrees of the globe
    (planar coverage) with a 1-degree geodesic area: a closed strip on 180 made Algiers
    OUT_OF_SERVICE_AREA."""
    ops = await dispatcher(conn)
    closed = {"name": "Dateline strip", "geometry": STRIP, "serviceable": False}
    status, body = await call(client, settings, ops, "POST", ZONES, closed)
    assert status == 400 and body["code"] == "INVALID_GEOMETRY", body
    assert "antimeridian" in body["fields"]["geometry"][0]
    assert body["fields"]["geometry"][0].startswith("Every edge must span less than 180 degrees")
    assert (await services_at(client, settings, ops, ALGIERS))[0] == 200

    status, zone = await call(
        client, settings, ops, "POST", ZONES, {**closed, "geometry": SPLIT_STRIP}
    )
    assert status == 201, zone
    # Coverage and area agree: half a degree either side of 180 at the equator, 1 degree high.
    assert 12_000 < zone["area_km2"] < 12_500
    assert (await services_at(client, settings, ops, ALGIERS))[0] == 200
    for inside in ({"lat": 0.5, "lng": 179.9}, {"lat": 0.5, "lng": -179.9}):
        status, body = await services_at(client, settings, ops, inside)
        assert status == 409 and body["code"] == "OUT_OF_SERVICE_AREA", (inside, body)
    assert (await services_at(client, settings, ops, {"lat": 0.5, "lng": 179.4}))[0] == 200

    # A PUT is held to the same rule, and leaves the stored shape as it was.
    status, body = await call(
        client, settings, ops, "PUT", f"{ZONES}{zone['id']}/", {"geometry": STRIP}
    )
    assert status == 400 and body["code"] == "INVALID_GEOMETRY", body
    status, same = await call(client, settings, ops, "GET", f"{ZONES}{zone['id']}/")
    assert same["geometry"] == zone["geometry"]


def _polygon(ring: list) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


UNIT = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        # PostGIS geography refuses "antipodal" edges (-180 to 180, pole to pole): was a 500.
        (WORLD, "Every edge must span less than 180 degrees"),
        (_polygon([[0, -90], [10, -90], [10, 90], [0, 90], [0, -90]]), "Every edge must span"),
        (_polygon([[0, 0], [180, 0], [180, 1], [0, 1], [0, 0]]), "Every edge must span"),
        # 3-D positions: the column is 2-D (was a 500).
        (_polygon([[*p, 10] for p in UNIT]), "Positions are [longitude, latitude]"),
        # Strings and booleans are not coordinates (PostGIS read "0" as 0: was a 201).
        (_polygon([[str(x), str(y)] for x, y in UNIT]), "Positions are [longitude, latitude]"),
        (
            _polygon([[0, 0], [True, 0], [1, 1], [0, 1], [0, 0]]),
            "Positions are [longitude, latitude]",
        ),
        (_polygon([[0], [1, 0], [1, 1], [0, 1], [0]]), "Positions are [longitude, latitude]"),
        (_polygon([[0, 0], "x", [1, 1], [0, 0]]), "Not a well-formed"),
        ({"type": "MultiPolygon", "coordinates": []}, "Not a well-formed"),
        ({"type": "Polygon", "coordinates": []}, "Not a well-formed"),
        ("Polygon", "Must be a GeoJSON Polygon or MultiPolygon."),
        ([UNIT], "Must be a GeoJSON Polygon or MultiPolygon."),
    ],
)
async def test_zone_geometry_is_validated_before_the_database(
    client, settings, conn, geometry, reason
):
    ops = await dispatcher(conn)
    status, body = await call(
        client, settings, ops, "POST", ZONES, {**CENTRE, "geometry": geometry}
    )
    assert status == 400, body
    assert body["code"] == "INVALID_GEOMETRY"
    assert list(body["fields"]) == ["geometry"] and body["fields"]["geometry"][0].startswith(reason)
    stored = await conn.fetchval(
        "SELECT count(*) FROM dispatch.service_zones WHERE name = $1", CENTRE["name"]
    )
    assert stored == 0


@pytest.mark.parametrize("name", ["   ", "", "\t\n", "x" * 121, 7])
async def test_a_zone_needs_a_name(client, settings, conn, name):
    ops = await dispatcher(conn)
    status, body = await call(client, settings, ops, "POST", ZONES, {**CENTRE, "name": name})
    assert status == 400 and body["code"] == "VALIDATION_ERROR" and list(body["fields"]) == ["name"]
    status, zone = await call(client, settings, ops, "POST", ZONES, CENTRE)
    assert status == 201
    status, body = await call(client, settings, ops, "PUT", f"{ZONES}{zone['id']}/", {"name": name})
    assert status == 400 and list(body["fields"]) == ["name"], body


async def test_zone_names_are_stored_stripped(client, settings, conn):
    ops = await dispatcher(conn)
    status, zone = await call(client, settings, ops, "POST", ZONES, {**CENTRE, "name": "  Port  "})
    assert status == 201 and zone["name"] == "Port"
    status, body = await call(client, settings, ops, "POST", ZONES, {**CENTRE, "name": "Port "})
    assert status == 409 and body["code"] == "ZONE_NAME_TAKEN"
    # A bad geometry and a bad name together: both named, the generic code.
    status, body = await call(
        client, settings, ops, "POST", ZONES, {"name": " ", "geometry": _polygon([[0, 0, 1]] * 4)}
    )
    assert status == 400 and body["code"] == "VALIDATION_ERROR"
    assert set(body["fields"]) == {"name", "geometry"}
