"""Routing over real HTTP, walked from the served OpenAPI document: every `{id}` of every operation
goes through the one id parser (issue 23, D2), and a literal path never falls through to an id
route for a method it lacks (D17)."""

from __future__ import annotations

from typing import Any

import pytest
from yarl import URL

from tests.support.assist import PICKUP, call
from tests.support.factories import auth_header, create_user

# Superscript two (int() fails: was a 500), Arabic-Indic one and fullwidth one (int() reads 1:
# they reached zone 1 and vehicle 1), and a number past bigint.
NOT_IDS = ["%C2%B2", "%D9%A1", "%EF%BC%91", "99999999999999999999"]
METHODS = ("get", "post", "put", "patch", "delete")


async def _document(client: Any) -> dict[str, Any]:
    resp = await client.get("/api/schema/")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


def _role(operation: dict[str, Any]) -> str:
    roles = operation["x-roles"]
    return roles[0] if isinstance(roles, list) else "client"  # "any" (or "public")


async def test_every_id_route_refuses_what_is_not_an_ascii_id(client, conn, settings):
    users = {role: await create_user(conn, role=role) for role in ("client", "dispatcher")}
    users["assistant"] = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"], lng=PICKUP["lng"]
    )
    # Zone 1 and vehicle 1 (the client's own), which `%D9%A1` used to reach and delete.
    await conn.execute("DELETE FROM dispatch.service_zones WHERE id = 1")  # all rolled back after
    await conn.execute("DELETE FROM dispatch.vehicles WHERE id = 1")
    await conn.execute(
        "INSERT INTO dispatch.service_zones (id, name, geom, serviceable) OVERRIDING SYSTEM VALUE "
        "VALUES (1, 'Zone one', ST_Multi(ST_MakeEnvelope(3.0, 36.7, 3.1, 36.8, 4326)), false)"
    )
    await conn.execute(
        "INSERT INTO dispatch.vehicles (id, owner_id, make, model, year, license_plate) "
        "OVERRIDING SYSTEM VALUE VALUES (1, $1, 'Renault', 'Clio', 2019, 'ONE-1')",
        users["client"].id,
    )
    for role, path in (("dispatcher", "/api/dispatch/zones/1/"), ("client", "/api/vehicles/1/")):
        assert (await call(client, settings, users[role], "GET", path))[0] == 200

    walked = []
    for path, operations in (await _document(client))["paths"].items():
        if "{id}" not in path:
            continue
        for method, operation in operations.items():
            headers = auth_header(settings, users[_role(operation)])
            body = {} if "requestBody" in operation else None
            for raw in NOT_IDS:
                url = URL(path.replace("{id}", raw), encoded=True)
                resp = await client.request(method, url, json=body, headers=headers)
                answer = await resp.json()
                assert resp.status == 404, (method, path, raw, answer)
                assert resp.content_type == "application/json"
                assert {"error", "code"} <= set(answer) <= {"error", "code", "fields"}
            walked.append((method, path))
    assert ("delete", "/api/dispatch/zones/{id}/") in walked
    assert ("delete", "/api/vehicles/{id}/") in walked
    assert ("get", "/ws/assistance/{id}/") in walked
    assert len(walked) > 25
    assert await conn.fetchval("SELECT name FROM dispatch.service_zones WHERE id = 1") == "Zone one"
    assert await conn.fetchval("SELECT make FROM dispatch.vehicles WHERE id = 1") == "Renault"


@pytest.mark.parametrize("path", ["/api/bookings/availability/", "/api/bookings/availability"])
async def test_a_literal_path_is_not_an_id(client, conn, settings, path):
    user = await create_user(conn, role="client")
    resp = await client.patch(
        path, json={"status": "canceled"}, headers=auth_header(settings, user)
    )
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET"
    assert await resp.json() == {
        "error": "This method is not allowed on this path.",
        "code": "METHOD_NOT_ALLOWED",
    }
    # A word that no literal route names still reaches the handler, whose parser answers 404.
    resp = await client.patch(
        "/api/bookings/tomorrow/", json={"status": "canceled"}, headers=auth_header(settings, user)
    )
    assert resp.status == 404 and (await resp.json())["code"] == "BOOKING_NOT_FOUND"


async def test_every_literal_path_answers_405_for_the_methods_it_lacks(client, conn, settings):
    """The router's own 404 and 405 in the error shape, with `Allow` naming exactly the path's
    documented methods (no id route's method leaking in)."""
    user = await create_user(conn, role="dispatcher")
    headers = auth_header(settings, user)
    checked = 0
    for path, operations in (await _document(client))["paths"].items():
        if "{" in path:
            continue
        documented = {m.upper() for m in operations}
        for method in METHODS:
            if method in operations:
                continue
            resp = await client.request(method, path, json={}, headers=headers)
            answer = await resp.json()
            assert resp.status == 405, (method, path, answer)
            assert set(resp.headers["Allow"].split(",")) == documented, (method, path)
            assert answer["code"] == "METHOD_NOT_ALLOWED" and set(answer) == {"error", "code"}
            checked += 1
    assert checked > 50
    resp = await client.get("/api/bookings/availability/extra/", headers=headers)
    assert resp.status == 404 and await resp.json() == {"error": "Not found.", "code": "NOT_FOUND"}
