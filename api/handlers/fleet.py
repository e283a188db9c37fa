"""Vehicle endpoints: a client's own vehicles (thin: parse, call, answer; others' are 404)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import describe
from api.keys import POOL
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.fleet import Vehicle, VehicleBody, VehiclePatch, Vehicles
from api.schemas.validation import parse
from dispatch.core.db import connection
from dispatch.core.errors import NotFound
from dispatch.fleet import vehicles


def _not_found() -> NotFound:
    return NotFound("Vehicle not found.", code="VEHICLE_NOT_FOUND")


@describe(
    "The client's own vehicles, oldest first", roles=("client",), tag="fleet", response=Vehicles
)
async def list_vehicles(request: web.Request) -> web.Response:
    user = require(request, "client")
    async with connection(request.app[POOL]) as conn:
        items = await vehicles.list_vehicles(conn, owner_id=user.id)
    return json_response(items)


@describe(
    "Add a vehicle",
    roles=("client",),
    tag="fleet",
    body=VehicleBody,
    response=Vehicle,
    status=201,
    errors={409: "VEHICLE_EXISTS (the licence plate)."},
)
async def create_vehicle(request: web.Request) -> web.Response:
    user = require(request, "client")
    body = parse(VehicleBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await vehicles.create_vehicle(conn, owner_id=user.id, fields=body.model_dump())
    return json_response(item, status=201)


@describe(
    "One of the client's vehicles",
    roles=("client",),
    tag="fleet",
    response=Vehicle,
    errors={404: "VEHICLE_NOT_FOUND."},
)
async def get_vehicle(request: web.Request) -> web.Response:
    user = require(request, "client")
    vehicle_id = path_id(request, _not_found)
    async with connection(request.app[POOL]) as conn:
        item = await vehicles.get_vehicle(conn, owner_id=user.id, vehicle_id=vehicle_id)
    if item is None:
        raise _not_found()
    return json_response(item)


@describe(
    "Replace a vehicle (left-out optional fields take their defaults)",
    roles=("client",),
    tag="fleet",
    body=VehicleBody,
    response=Vehicle,
    errors={404: "VEHICLE_NOT_FOUND.", 409: "VEHICLE_EXISTS (the licence plate)."},
)
async def replace_vehicle(request: web.Request) -> web.Response:
    user = require(request, "client")
    vehicle_id = path_id(request, _not_found)
    body = parse(VehicleBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await vehicles.update_vehicle(
            conn, owner_id=user.id, vehicle_id=vehicle_id, fields=body.model_dump()
        )
    if item is None:
        raise _not_found()
    return json_response(item)


@describe(
    "Change some fields of a vehicle",
    roles=("client",),
    tag="fleet",
    body=VehiclePatch,
    response=Vehicle,
    errors={404: "VEHICLE_NOT_FOUND.", 409: "VEHICLE_EXISTS (the licence plate)."},
)
async def patch_vehicle(request: web.Request) -> web.Response:
    user = require(request, "client")
    vehicle_id = path_id(request, _not_found)
    body = parse(VehiclePatch, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await vehicles.update_vehicle(
            conn, owner_id=user.id, vehicle_id=vehicle_id, fields=body.changes()
        )
    if item is None:
        raise _not_found()
    return json_response(item)


@describe(
    "Delete a vehicle (204, no body)",
    roles=("client",),
    tag="fleet",
    status=204,
    errors={
        404: "VEHICLE_NOT_FOUND.",
        409: "VEHICLE_IN_USE: an open booking or job uses it (with `booking_id`, `assistance_id`).",
    },
)
async def delete_vehicle(request: web.Request) -> web.Response:
    user = require(request, "client")
    vehicle_id = path_id(request, _not_found)
    async with connection(request.app[POOL]) as conn:
        deleted = await vehicles.delete_vehicle(conn, owner_id=user.id, vehicle_id=vehicle_id)
    if not deleted:
        raise _not_found()
    return web.Response(status=204)
