"""Assistance endpoints: request, view, accept, decline, status changes, rating (thin handlers)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import ANY_ROLE, Header, describe
from api.keys import POOL
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.assistance import (
    MAX_IDEMPOTENCY_KEY,
    Assistance,
    AssistanceCreated,
    AssistanceList,
    AssistanceOne,
    AssistanceStatusBody,
    ChatPage,
    Declined,
    ListQuery,
    MessagesQuery,
    RateBody,
    RequestBody,
)
from api.schemas.validation import parse
from dispatch.assistance import channel, lifecycle, offers
from dispatch.core.db import connection
from dispatch.core.errors import NotFound, ValidationError
from dispatch.fleet import vehicles


def assistance_not_found() -> NotFound:
    """The 404 of a request id that is unknown, malformed or not the caller's to see."""
    return NotFound("Assistance request not found.", code="ASSISTANCE_NOT_FOUND")


IDEMPOTENCY = Header(
    "Idempotency-Key",
    "Makes retries safe: the same key and body replay the first answer "
    "(with `Idempotent-Replayed: true`); the same key with another body is 409.",
    max_length=MAX_IDEMPOTENCY_KEY,
)


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


@describe(
    "Request assistance: create, price, match and notify the nearest assistants",
    roles=("client",),
    tag="assistance",
    body=RequestBody,
    response=AssistanceCreated,
    status=201,
    headers=(IDEMPOTENCY,),
    errors={
        404: "VEHICLE_NOT_FOUND (`vehicle_id` is not one of the client's vehicles).",
        409: "OPEN_REQUEST_EXISTS (with `assistance_id`), IDEMPOTENCY_KEY_REUSED, "
        "OUT_OF_SERVICE_AREA, QUOTE_LIMIT_EXCEEDED (with `quote_limit`).",
    },
)
async def request_assistance(request: web.Request) -> web.Response:
    user = require(request, "client")
    body = parse(RequestBody, await read_json(request))
    key = _idempotency_key(request)
    # The request is one SQL call, atomic on its own; the vehicle lookup before it only reads.
    async with connection(request.app[POOL]) as conn:
        vehicle_type: str = body.vehicle_type
        if body.vehicle_id is not None:
            vehicle_type = await vehicles.vehicle_class(
                conn, client_id=user.id, vehicle_id=body.vehicle_id
            )
        result = await lifecycle.request_assistance(
            conn,
            client_id=user.id,
            pickup=lifecycle.Point(body.pickup.lat, body.pickup.lng),
            dropoff=None
            if body.dropoff is None
            else lifecycle.Point(body.dropoff.lat, body.dropoff.lng),
            service_type=body.service_type,
            vehicle_type=vehicle_type,
            description=body.description or "",
            idempotency_key=key,
        )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return json_response(result.body, status=201, headers=headers)


@describe(
    "The caller's requests (a client's own, an assistant's accepted ones), newest first",
    roles=ANY_ROLE,
    tag="assistance",
    query=ListQuery,
    response=AssistanceList,
)
async def view_list(request: web.Request) -> web.Response:
    user = require(request)
    query = parse(ListQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        items = await lifecycle.list_for(
            conn, user_id=user.id, status=query.status, limit=query.limit, offset=query.offset
        )
    return json_response({"message": "success", "Assistance": items})


@describe(
    "One request the caller is a party to",
    roles=ANY_ROLE,
    tag="assistance",
    response=AssistanceOne,
    errors={404: "ASSISTANCE_NOT_FOUND: unknown, or the caller is not a party."},
)
async def view_one(request: web.Request) -> web.Response:
    user = require(request)
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:
        item = await lifecycle.get_for(conn, assistance_id=assistance_id, user_id=user.id)
    if item is None:
        raise assistance_not_found()
    return json_response({"message": "success", "Assistance": item})


@describe(
    "Accept a request (an active assistant holding an open offer; the first accept wins)",
    roles=("assistant",),
    tag="assistance",
    response=Assistance,
    errors={
        404: "ASSISTANCE_NOT_FOUND.",
        409: "ALREADY_ACCEPTED, ASSISTANT_BUSY, ASSISTANT_UNAVAILABLE, ASSISTANCE_FINAL, "
        "NOT_OFFERED, OFFER_EXPIRED, OFFER_DECLINED.",
    },
)
async def accept(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await lifecycle.accept(conn, assistance_id=assistance_id, assistant_id=user.id)
    return json_response(item)


@describe(
    "Decline an open offer (a decliner is never offered the request again)",
    roles=("assistant",),
    tag="assistance",
    response=Declined,
    errors={404: "OFFER_NOT_FOUND (no open offer), ASSISTANCE_NOT_FOUND.", 409: "OFFER_FINAL."},
)
async def decline(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        result = await offers.decline(conn, assistance_id=assistance_id, assistant_id=user.id)
    return json_response(result)


@describe(
    "Move a request through its state machine (cancel, ongoing, completed)",
    roles=("client", "assistant"),
    tag="assistance",
    body=AssistanceStatusBody,
    response=Assistance,
    errors={
        400: "VALIDATION_ERROR, INVALID_VALUE (misplaced total_price).",
        403: "PERMISSION_DENIED, TRANSITION_FORBIDDEN.",
        404: "ASSISTANCE_NOT_FOUND.",
        409: "ASSISTANCE_FINAL, INVALID_TRANSITION, INVOICE_LIMIT_EXCEEDED or "
        "TOO_MANY_COST_LINES (completing: the invoice would not fit; remove cost lines).",
    },
)
async def update_status(request: web.Request) -> web.Response:
    user = require(request, "client", "assistant")
    assistance_id = path_id(request, assistance_not_found)
    body = parse(AssistanceStatusBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await lifecycle.update_status(
            conn,
            assistance_id=assistance_id,
            actor_id=user.id,
            status=body.status,
            total_price=body.total_price,
        )
    return json_response(item)


@describe(
    "Rate a completed job, once (the request's client)",
    roles=("client",),
    tag="assistance",
    body=RateBody,
    response=Assistance,
    errors={
        403: "PERMISSION_DENIED, TRANSITION_FORBIDDEN.",
        404: "ASSISTANCE_NOT_FOUND.",
        409: "NOT_COMPLETED, ALREADY_RATED.",
    },
)
async def rate(request: web.Request) -> web.Response:
    user = require(request, "client")
    assistance_id = path_id(request, assistance_not_found)
    body = parse(RateBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        item = await lifecycle.rate(
            conn,
            assistance_id=assistance_id,
            client_id=user.id,
            rating=body.rating,
            comment=body.comment or "",
        )
    return json_response(item)


@describe(
    "A page of a job's chat, newest first (its parties and dispatchers)",
    roles=ANY_ROLE,
    tag="time",
    query=MessagesQuery,
    response=ChatPage,
    errors={404: "ASSISTANCE_NOT_FOUND."},
)
async def messages(request: web.Request) -> web.Response:
    user = require(request)
    assistance_id = path_id(request, assistance_not_found)
    query = parse(MessagesQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        page = await channel.chat_page(
            conn,
            assistance_id=assistance_id,
            user_id=user.id,
            before=query.before,
            limit=query.limit,
        )
    if page is None:
        raise assistance_not_found()
    return json_response(page)
