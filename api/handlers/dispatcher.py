"""Dispatcher endpoints (/api/dispatch/...): the queue, one request, assign/reassign/cancel, the fleet."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.keys import POOL
from api.responses import json_response, read_json
from api.schemas.dispatcher import (
    AssignBody,
    AssistantsQuery,
    CancelBody,
    ReassignBody,
    RequestsQuery,
)
from api.schemas.validation import parse
from dispatch import operations
from dispatch.db import connection
from dispatch.errors import NotFound


def _assistance_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("Assistance request not found.", code="ASSISTANCE_NOT_FOUND")
    return int(raw)


async def requests(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    query = parse(RequestsQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        result = await operations.list_requests(
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


async def request_detail(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = _assistance_id(request)
    async with connection(request.app[POOL]) as conn:
        item = await operations.request_detail(
            conn, assistance_id=assistance_id, dispatcher_id=user.id
        )
    if item is None:
        raise NotFound("Assistance request not found.", code="ASSISTANCE_NOT_FOUND")
    return json_response(item)


async def assign(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = _assistance_id(request)
    body = parse(AssignBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await operations.assign(
            conn,
            assistance_id=assistance_id,
            assistant_id=body.assistant_id,
            dispatcher_id=user.id,
            reason=(body.reason or "").strip() or None,
        )
    return json_response(item)


async def reassign(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = _assistance_id(request)
    body = parse(ReassignBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await operations.reassign(
            conn,
            assistance_id=assistance_id,
            assistant_id=body.assistant_id,
            dispatcher_id=user.id,
            reason=body.reason.strip(),
        )
    return json_response(item)


async def cancel(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    assistance_id = _assistance_id(request)
    body = parse(CancelBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:
        item = await operations.cancel(
            conn, assistance_id=assistance_id, dispatcher_id=user.id, reason=body.reason.strip()
        )
    return json_response(item)


async def assistants(request: web.Request) -> web.Response:
    user = require(request, "dispatcher")
    query = parse(AssistantsQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        result = await operations.list_assistants(
            conn,
            dispatcher_id=user.id,
            state=query.state,
            service_type=query.service_type,
            bbox=query.area(),
            limit=query.limit,
            offset=query.offset,
        )
    return json_response(result)
