"""Assistance endpoints: request, view, accept, decline, status changes, rating (thin handlers)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.keys import POOL
from api.responses import json_response, read_json
from api.schemas.assistance import (
    MAX_IDEMPOTENCY_KEY,
    ListQuery,
    RateBody,
    RequestBody,
    StatusBody,
)
from api.schemas.validation import parse
from dispatch import assistance, fleet, offers
from dispatch.db import connection
from dispatch.errors import NotFound, ValidationError
from dispatch.ids import parse_id


def _assistance_id(request: web.Request) -> int:
    value = parse_id(request.match_info["id"])
    if value is None:
        raise NotFound("Assistance request not found.", code="ASSISTANCE_NOT_FOUND")
    return value


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationError(
            "The Idempotency-Key header must be 1 to 255 characters.",
            fields={"Idempotency-Key": ["Must be 1 to 255 characters."]},
        )
    return key


async def request_assistance(request: web.Request) -> web.Response:
    user = require(request, "client")
    body = parse(RequestBody, await read_json(request))
    key = _idempotency_key(request)
    # The request is one SQL call, atomic on its own; the vehicle lookup before it only reads.
    async with connection(request.app[POOL]) as conn:
        vehicle_type: str = body.vehicle_type
        if body.vehicle_id is not None:
            vehicle_type = await fleet.vehicle_class(
                conn, client_id=user.id, vehicle_id=body.vehicle_id
            )
        result = await assistance.request_assistance(
            conn,
            client_id=user.id,
            pickup=assistance.Point(body.pickup.lat, body.pickup.lng),
            dropoff=None
            if body.dropoff is None
            else assistance.Point(body.dropoff.lat, body.dropoff.lng),
            service_type=body.service_type,
            vehicle_type=vehicle_type,
            description=body.description or "",
            idempotency_key=key,
        )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return json_response(result.body, status=201, headers=headers)


async def view_list(request: web.Request) -> web.Response:
    user = require(request)
    query = parse(ListQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        items = await assistance.list_for(
            conn, user_id=user.id, status=query.status, limit=query.limit, offset=query.offset
        )
    return json_response({"message": "success", "Assistance": items})


async def view_one(request: web.Request) -> web.Response:
    user = require(request)
    assistance_id = _assistance_id(request)
    async with connection(request.app[POOL]) as conn:
        item = await assistance.get_for(conn, assistance_id=assistance_id, user_id=user.id)
    if item is None:
        raise NotFound("Assistance request not found.", code="ASSISTANCE_NOT_FOUND")
    return json_response({"message": "success", "Assistance": item})


async def accept(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    assistance_id = _assistance_id(request)
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await assistance.accept(conn, assistance_id=assistance_id, assistant_id=user.id)
    return json_response(item)


async def decline(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    assistance_id = _assistance_id(request)
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        result = await offers.decline(conn, assistance_id=assistance_id, assistant_id=user.id)
    return json_response(result)


async def update_status(request: web.Request) -> web.Response:
    user = require(request, "client", "assistant")
    assistance_id = _assistance_id(request)
    body = parse(StatusBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await assistance.update_status(
            conn,
            assistance_id=assistance_id,
            actor_id=user.id,
            status=body.status,
            total_price=body.total_price,
        )
    return json_response(item)


async def rate(request: web.Request) -> web.Response:
    user = require(request, "client")
    assistance_id = _assistance_id(request)
    body = parse(RateBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await assistance.rate(
            conn,
            assistance_id=assistance_id,
            client_id=user.id,
            rating=body.rating,
            comment=body.comment or "",
        )
    return json_response(item)
