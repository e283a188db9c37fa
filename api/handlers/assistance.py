"""Assistance endpoints: request, view, accept, status updates and rating (thin: parse, call, answer)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from api.auth import require
from api.keys import POOL
from api.responses import json_response, read_json
from api.validation import parse
from dispatch import assistance
from dispatch.db import connection, transaction
from dispatch.errors import NotFound, ValidationError

Status = Literal["requested", "accepted", "ongoing", "completed", "canceled"]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]

MAX_IDEMPOTENCY_KEY = 255


class LatLng(BaseModel):
    # Strict: coordinates are JSON numbers, never strings or booleans (ints are fine).
    model_config = ConfigDict(strict=True, extra="ignore")

    lat: Latitude = Field(validation_alias=AliasChoices("lat", "latitude"))
    lng: Longitude = Field(validation_alias=AliasChoices("lng", "longitude"))


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    pickup: LatLng
    dropoff: LatLng | None = None
    service_type: Literal["towing", "repair"] = Field(
        "towing", validation_alias=AliasChoices("service_type", "assistance_type")
    )
    vehicle_type: Literal["light", "heavy"] = "light"
    description: str | None = Field(None, max_length=2000)


class StatusBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    status: Status
    total_price: float | None = Field(None, ge=0, le=10_000_000, allow_inf_nan=False)


class RateBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)


class ListQuery(BaseModel):
    # Query strings are text: numbers are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    status: Status | None = None
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0)


def _assistance_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("Assistance request not found.", code="ASSISTANCE_NOT_FOUND")
    return int(raw)


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
    async with transaction(request.app[POOL]) as conn:
        result = await assistance.request_assistance(
            conn,
            client_id=user.id,
            pickup=assistance.Point(body.pickup.lat, body.pickup.lng),
            dropoff=None
            if body.dropoff is None
            else assistance.Point(body.dropoff.lat, body.dropoff.lng),
            service_type=body.service_type,
            vehicle_type=body.vehicle_type,
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
    async with transaction(request.app[POOL]) as conn:
        item = await assistance.accept(conn, assistance_id=assistance_id, assistant_id=user.id)
    return json_response(item)


async def update_status(request: web.Request) -> web.Response:
    user = require(request, "client", "assistant")
    assistance_id = _assistance_id(request)
    body = parse(StatusBody, await read_json(request))
    async with transaction(request.app[POOL]) as conn:
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
    async with transaction(request.app[POOL]) as conn:
        item = await assistance.rate(
            conn,
            assistance_id=assistance_id,
            client_id=user.id,
            rating=body.rating,
            comment=body.comment or "",
        )
    return json_response(item)
