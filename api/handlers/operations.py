"""Dispatcher endpoints (/api/dispatch/...): the queue, one request, assign/reassign/cancel, the fleet."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import describe
from api.handlers.assistance import assistance_not_found
from api.keys import POOL, SETTINGS
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.assistance import Assistance, ChatMessage
from api.schemas.operations import (
    AssignBody,
    CancelBody,
    DemandCells,
    DemandQuery,
    DispatchAssistance,
    DispatcherAssistantsQuery,
    DispatcherMessageBody,
    DispatchRequests,
    FleetAssistants,
    ReassignBody,
    RequestsQuery,
    RoadNetwork,
    RoadsQuery,
)
from api.schemas.validation import parse
from dispatch.core.db import connection
from dispatch.operations import desk, dispatchers


@describe(
    "The dispatchers' queue of requests, newest first",
    roles=("dispatcher",),
    tag="dispatch",
    query=RequestsQuery,
    response=DispatchRequests,
)
async def requests(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    query = parse(RequestsQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        result = await dispatchers.list_requests(
            conn,
            dispatcher_id=user.id,
            statuses=query.statuses(),
            searching=query.searching,
            since=query.since,
            bbox=query.area(),
            limit=query.limit,
            offset=query.offset,
        )
    return json_response(result)


@describe(
    "One request with its offers and its timeline",
    roles=("dispatcher",),
    tag="dispatch",
    response=DispatchAssistance,
    errors={404: "ASSISTANCE_NOT_FOUND."},
)
async def request_detail(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:
        item = await dispatchers.request_detail(
            conn, assistance_id=assistance_id, dispatcher_id=user.id
        )
    if item is None:
        raise assistance_not_found()
    return json_response(item)


@describe(
    "Assign a requested job to an available assistant",
    roles=("dispatcher",),
    tag="dispatch",
    body=AssignBody,
    response=Assistance,
    errors={
        404: "ASSISTANCE_NOT_FOUND, ASSISTANT_NOT_FOUND.",
        409: "ALREADY_ACCEPTED, ALREADY_ASSIGNED, ASSISTANT_BUSY, ASSISTANT_UNAVAILABLE, "
        "ASSISTANCE_FINAL.",
    },
)
async def assign(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = path_id(request, assistance_not_found)
    body = parse(AssignBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await dispatchers.assign(
            conn,
            assistance_id=assistance_id,
            assistant_id=body.assistant_id,
            dispatcher_id=user.id,
            reason=(body.reason or "").strip() or None,
        )
    return json_response(item)


@describe(
    "Move an accepted job to another assistant (a reason is required)",
    roles=("dispatcher",),
    tag="dispatch",
    body=ReassignBody,
    response=Assistance,
    errors={
        404: "ASSISTANCE_NOT_FOUND, ASSISTANT_NOT_FOUND.",
        409: "ALREADY_ASSIGNED, ASSISTANT_BUSY, ASSISTANT_UNAVAILABLE, ASSISTANCE_FINAL, "
        "INVALID_TRANSITION.",
    },
)
async def reassign(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = path_id(request, assistance_not_found)
    body = parse(ReassignBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await dispatchers.reassign(
            conn,
            assistance_id=assistance_id,
            assistant_id=body.assistant_id,
            dispatcher_id=user.id,
            reason=body.reason.strip(),
        )
    return json_response(item)


@describe(
    "Cancel a request on the client's behalf (a reason is required)",
    roles=("dispatcher",),
    tag="dispatch",
    body=CancelBody,
    response=Assistance,
    errors={404: "ASSISTANCE_NOT_FOUND.", 409: "ASSISTANCE_FINAL, INVALID_TRANSITION."},
)
async def cancel(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = path_id(request, assistance_not_found)
    body = parse(CancelBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await dispatchers.cancel(
            conn, assistance_id=assistance_id, dispatcher_id=user.id, reason=body.reason.strip()
        )
    return json_response(item)


@describe(
    "The fleet: every assistant with its state and last position",
    roles=("dispatcher",),
    tag="dispatch",
    query=DispatcherAssistantsQuery,
    response=FleetAssistants,
)
async def assistants(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    query = parse(DispatcherAssistantsQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        result = await dispatchers.list_assistants(
            conn,
            dispatcher_id=user.id,
            state=query.state,
            service_type=query.service_type,
            bbox=query.area(),
            limit=query.limit,
            offset=query.offset,
        )
    return json_response(result)


@describe(
    "The imported road network inside a box, simplified for the map's zoom (GeoJSON)",
    roles=("dispatcher",),
    tag="dispatch",
    query=RoadsQuery,
    response=RoadNetwork,
    description="Main-graph edges of every imported region (© OpenStreetMap contributors): "
    "below zoom 14 only the busier classes, each line simplified to about a pixel, at most "
    "`limit` of them, busiest first (`truncated` says when more matched).",
)
async def roads(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    query = parse(RoadsQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        result = await desk.roads(
            conn, dispatcher_id=user.id, bbox=query.area(), zoom=query.zoom, max_edges=query.limit
        )
    return json_response(result)


@describe(
    "Demand and idle supply per H3 cell (the analysts' heatmap) as GeoJSON polygons",
    roles=("dispatcher",),
    tag="dispatch",
    query=DemandQuery,
    response=DemandCells,
)
async def demand(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    query = parse(DemandQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        result = await desk.demand(
            conn, dispatcher_id=user.id, resolution=query.resolution, days=query.days
        )
    return json_response(result)


@describe(
    "Write in a job's chat as a dispatcher (stored, and relayed on the job's channel)",
    roles=("dispatcher",),
    tag="dispatch",
    body=DispatcherMessageBody,
    response=ChatMessage,
    status=201,
    errors={404: "ASSISTANCE_NOT_FOUND.", 429: "CHAT_RATE_LIMITED."},
)
async def post_message(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = path_id(request, assistance_not_found)
    data = parse(DispatcherMessageBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await desk.post_chat(
            conn,
            assistance_id=assistance_id,
            dispatcher_id=user.id,
            message=data.message,
            per_minute=request.app[SETTINGS].realtime.chat_per_minute,
        )
    return json_response(item, status=201)
