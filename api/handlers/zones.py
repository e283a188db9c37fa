"""Service zone endpoints (dispatchers only) and the priced catalogue (any authenticated role)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import ANY_ROLE, describe
from api.keys import POOL
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.fleet import CatalogueQuery, Services, Zone, ZoneBody, Zones, ZoneUpdate
from api.schemas.validation import parse
from dispatch.core.db import connection
from dispatch.core.errors import NotFound
from dispatch.fleet import zones


def _not_found() -> NotFound:
    return NotFound("Service zone not found.", code="ZONE_NOT_FOUND")


@describe("Every service zone", roles=("dispatcher",), tag="zones", response=Zones)
async def list_zones(request: web.Request) -> web.Response:
    require(request, "dispatcher")
    async with connection(request.app[POOL]) as conn:
        items = await zones.list_zones(conn)
    return json_response({"count": len(items), "results": items})


@describe(
    "Create a service zone with its tariffs",
    roles=("dispatcher",),
    tag="zones",
    body=ZoneBody,
    response=Zone,
    status=201,
    errors={400: "VALIDATION_ERROR, INVALID_GEOMETRY.", 409: "ZONE_NAME_TAKEN."},
)
async def create_zone(request: web.Request) -> web.Response:
    require(request, "dispatcher")
    body = parse(ZoneBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await zones.create_zone(
            conn,
            name=body.name,
            geometry=body.geometry,
            serviceable=body.serviceable,
            tariffs=[t.model_dump() for t in body.tariffs],
        )
    return json_response(item, status=201)


@describe(
    "One service zone",
    roles=("dispatcher",),
    tag="zones",
    response=Zone,
    errors={404: "ZONE_NOT_FOUND."},
)
async def get_zone(request: web.Request) -> web.Response:
    require(request, "dispatcher")
    zone_id = path_id(request, _not_found)
    async with connection(request.app[POOL]) as conn:
        item = await zones.get_zone(conn, zone_id=zone_id)
    if item is None:
        raise _not_found()
    return json_response(item)


@describe(
    "Replace the parts of a zone sent (`tariffs` as a whole list)",
    roles=("dispatcher",),
    tag="zones",
    body=ZoneUpdate,
    response=Zone,
    errors={
        400: "VALIDATION_ERROR, INVALID_GEOMETRY.",
        404: "ZONE_NOT_FOUND.",
        409: "ZONE_NAME_TAKEN.",
    },
)
async def update_zone(request: web.Request) -> web.Response:
    require(request, "dispatcher")
    zone_id = path_id(request, _not_found)
    body = parse(ZoneUpdate, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await zones.update_zone(
            conn,
            zone_id=zone_id,
            name=body.name,
            geometry=body.geometry,
            serviceable=body.serviceable,
            tariffs=None if body.tariffs is None else [t.model_dump() for t in body.tariffs],
        )
    return json_response(item)


@describe(
    "Delete a service zone (204, no body)",
    roles=("dispatcher",),
    tag="zones",
    status=204,
    errors={404: "ZONE_NOT_FOUND."},
)
async def delete_zone(request: web.Request) -> web.Response:
    require(request, "dispatcher")
    zone_id = path_id(request, _not_found)
    async with connection(request.app[POOL]) as conn:
        await zones.delete_zone(conn, zone_id=zone_id)
    return web.Response(status=204)


@describe(
    "The services with the prices that apply at a point",
    roles=ANY_ROLE,
    tag="zones",
    query=CatalogueQuery,
    response=Services,
    errors={409: "OUT_OF_SERVICE_AREA (with `zone`)."},
)
async def catalogue(request: web.Request) -> web.Response:
    require(request)
    query = parse(CatalogueQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        items = await zones.catalogue(conn, lat=query.lat, lng=query.lng)
    return json_response(items)
