"""The OpenAPI document: generated from the router, every route described, models that match real
answers; and Swagger UI served from the engine's own files (nothing fetched from elsewhere)."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from api.app import create_app
from api.openapi import UndescribedRoutes, build, document
from api.routes import add
from api.schemas.accounts import Session, UserProfile
from api.schemas.assistance import AssistanceCreated, Declined
from api.schemas.fleet import Zone
from api.schemas.money import Invoice
from api.schemas.operations import Offer
from api.schemas.scheduling import Booking
from tests.support.assist import PICKUP, call
from tests.support.factories import create_user


def router_operations(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical
        if route.method != "HEAD":
            found.add((route.method.lower(), path if path.endswith("/") else path + "/"))
    return found


async def test_document_paths_are_the_routers_routes(client):
    resp = await client.get("/api/schema/")
    assert resp.status == 200 and resp.content_type == "application/json"
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0"
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == router_operations(client.app)
    # Every documented path also answers without its trailing slash.
    canonical = {r.resource.canonical for r in client.app.router.routes()}
    assert all(p.rstrip("/") in canonical for _, p in documented)
    assert (await client.get("/api/schema")).status == 200


def test_an_undescribed_route_is_reported(settings):
    app = create_app(settings, db_url="unused")

    async def undescribed(request: web.Request) -> web.Response:
        return web.Response()

    add(app.router, "GET", "/api/not-described/", undescribed)
    _, missing = build(app)
    assert missing == ["GET /api/not-described/"]
    with pytest.raises(UndescribedRoutes):
        document(app)


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_operations_carry_auth_errors_and_resolvable_schemas(settings):
    doc = document(create_app(settings, db_url="unused"))
    schemas = doc["components"]["schemas"]
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in _refs(doc))
    ids = set()
    for path, ops in doc["paths"].items():
        for op in ops.values():
            ids.add(op["operationId"])
            responses = op["responses"]
            assert op["summary"] and "500" in responses
            public = op["x-roles"] == "public"
            assert op["security"] == ([] if public else [{"bearerAuth": []}])
            assert public or "401" in responses
            if isinstance(op["x-roles"], list):
                assert "403" in responses
            if "{id}" in path:
                assert "404" in responses
            if "requestBody" in op:
                assert {"400", "413"} <= set(responses)
            for status, answer in responses.items():
                if status.startswith(("4", "5")) and path != "/api/health/":
                    assert answer["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }
    assert len(ids) == sum(len(ops) for ops in doc["paths"].values())
    channels = {p: ops["get"] for p, ops in doc["paths"].items() if p.startswith("/ws/")}
    assert set(channels) == {
        "/ws/assistant/{id}/",
        "/ws/assistance/{id}/",
        "/ws/dispatch/",
        "/ws/client/{id}/",
    }
    for op in channels.values():
        assert "101" in op["responses"] and op["x-websocket"]["server_frames"]
    assert (
        "new_assistance_request" in channels["/ws/assistant/{id}/"]["x-websocket"]["server_frames"]
    )
    assert "positions" in channels["/ws/dispatch/"]["x-websocket"]["server_frames"]
    assert "subscribe" in channels["/ws/dispatch/"]["x-websocket"]["client_frames"]
    assert "booking_activated" in channels["/ws/client/{id}/"]["x-websocket"]["server_frames"]
    assert "WebSocket `/ws/assistance/{id}/`" in doc["info"]["description"]
    # Request models are the ones that validate requests (aliases: the first spelling).
    body = doc["paths"]["/api/assistance/request/"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RequestBody"
    }
    assert set(schemas["RequestBody"]["required"]) == {"pickup"}
    limit = next(
        p
        for p in doc["paths"]["/api/assistance/view/"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["in"] == "query" and limit["schema"]["maximum"] == 100


async def test_response_models_match_real_answers(client, settings, conn):
    status, session = await call(
        client,
        settings,
        None,
        "POST",
        "/api/auth/register/",
        {"phone_number": "+213555000111", "password": "long-enough-1", "name": "Amel"},
    )
    assert status == 201
    Session.model_validate(session)
    resp = await client.get(
        "/api/profile/user/", headers={"Authorization": f"Bearer {session['access']}"}
    )
    UserProfile.model_validate(await resp.json())
    await create_user(conn, role="assistant", is_active=True, lat=PICKUP["lat"], lng=PICKUP["lng"])
    resp = await client.post(
        "/api/assistance/request/",
        json={"pickup": PICKUP, "dropoff": {"lat": 36.77, "lng": 3.06}},
        headers={"Authorization": f"Bearer {session['access']}"},
    )
    created = AssistanceCreated.model_validate(await resp.json())
    assert created.assistance.status == "requested" and len(created.nearby_assistants) == 1


def test_contract_objects_validate_the_contracts_shapes():
    Declined.model_validate({"assistance_id": 4, "declined": True})
    Offer.model_validate(
        {
            "assistant_id": 2,
            "round": 1,
            "distance": 1.2,
            "sent_at": "2026-11-21T10:00:00Z",
            "state": "open",
        }
    )
    with pytest.raises(ValueError):
        Offer.model_validate(
            {
                "assistant_id": 2,
                "round": 1,
                "distance": 1.2,
                "sent_at": "2026-11-21T10:00:00Z",
                "state": "maybe",
            }
        )
    Zone.model_validate(
        {
            "id": 1,
            "name": "Centre",
            "serviceable": True,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[3, 36], [3.1, 36], [3.1, 36.1], [3, 36]]],
            },
            "tariffs": [
                {"service_type": "towing", "vehicle_type": "light", "base_fare": 1500, "per_km": 50}
            ],
        }
    )
    Invoice.model_validate(
        {
            "number": 1,
            "assistance_id": 4,
            "issued_at": "2026-11-21T10:00:00Z",
            "currency": "DZD",
            "lines": [{"label": "Tow", "quantity": 1, "unit_price": 1500, "amount": 1500}],
            "subtotal": 1500,
            "total": 1500,
        }
    )
    Booking.model_validate(
        {
            "id": 3,
            "status": "scheduled",
            "service_type": "towing",
            "vehicle_type": "light",
            "vehicle_id": None,
            "description": "",
            "pickup_lat": PICKUP["lat"],
            "pickup_lng": PICKUP["lng"],
            "dropoff_lat": None,
            "dropoff_lng": None,
            "pickupLocation": PICKUP,
            "dropoffLocation": None,
            "scheduled_for": "2026-11-22T08:00:00Z",
            "activates_at": "2026-11-22T07:50:00Z",
            "assistance_id": None,
            "failure": None,
            "created_at": "2026-11-21T10:00:00Z",
            "updated_at": "2026-11-21T10:00:00Z",
        }
    )


async def test_swagger_ui_is_served_from_local_files_only(client):
    resp = await client.get("/api/docs/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert "://" not in page  # no CDN, no other origin: the page works offline
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/api/docs/swagger-ui-bundle.js" in assets and "/api/docs/init.js" in assets
    for url in assets:
        got = await client.get(url)
        assert got.status == 200, url
        body = await got.read()
        assert len(body) > 100
        expected = {"js": "application/javascript", "css": "text/css", "png": "image/png"}
        assert got.content_type == expected[url.rsplit(".", 1)[1]]
    init = await (await client.get("/api/docs/init.js")).text()
    assert '"/api/schema/"' in init and "validatorUrl: null" in init and "://" not in init
    bundle = await (await client.get("/api/docs/swagger-ui-bundle.js")).text()
    assert "SwaggerUIBundle" in bundle
    missing = await client.get("/api/docs/swagger-editor.js")
    assert missing.status == 404 and (await missing.json())["code"] == "NOT_FOUND"
