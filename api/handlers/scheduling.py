"""Scheduling: bookings, their hourly availability, and assistants' shifts (thin: parse, call,
answer)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import ANY_ROLE, describe
from api.keys import POOL
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.scheduling import (
    Availability,
    AvailabilityQuery,
    Booking,
    BookingBody,
    BookingListQuery,
    Bookings,
    BookingUpdateBody,
    Shifts,
    ShiftsQuery,
)
from api.schemas.validation import parse
from dispatch.assistance.lifecycle import Point
from dispatch.core.db import connection
from dispatch.core.errors import NotFound
from dispatch.scheduling import bookings
from dispatch.scheduling.shifts import list_shifts


def _not_found() -> NotFound:
    return NotFound("Booking not found.", code="BOOKING_NOT_FOUND")


@describe(
    "Book a job for later (15 minutes to 30 days ahead)",
    roles=("client",),
    tag="bookings",
    body=BookingBody,
    response=Booking,
    status=201,
    errors={
        400: "VALIDATION_ERROR, INVALID_SCHEDULE (with `fields.scheduled_for`).",
        404: "VEHICLE_NOT_FOUND.",
        409: "OUT_OF_SERVICE_AREA.",
    },
)
async def create_booking(request: web.Request) -> web.Response:
    user = require(request, "client")
    body = parse(BookingBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        booking = await bookings.create(
            conn,
            client_id=user.id,
            pickup=Point(body.pickup.lat, body.pickup.lng),
            dropoff=None if body.dropoff is None else Point(body.dropoff.lat, body.dropoff.lng),
            service_type=body.service_type,
            vehicle_type=body.vehicle_type,
            vehicle_id=body.vehicle_id,
            description=body.description or "",
            scheduled_for=body.scheduled_for,
        )
    return json_response(booking, status=201)


@describe(
    "Bookings: a client its own, a dispatcher all",
    roles=("client", "dispatcher"),
    tag="bookings",
    query=BookingListQuery,
    response=Bookings,
)
async def list_bookings(request: web.Request) -> web.Response:
    user = require(request, "client", "dispatcher")
    query = parse(BookingListQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        items = await bookings.list_for(
            conn, user_id=user.id, status=query.status, limit=query.limit, offset=query.offset
        )
    return json_response({"count": len(items), "results": items})


@describe(
    'Cancel a booking (`{"status": "canceled"}`) while it is scheduled',
    roles=("client",),
    tag="bookings",
    body=BookingUpdateBody,
    response=Booking,
    errors={404: "BOOKING_NOT_FOUND.", 409: "BOOKING_FINAL (with `assistance_id`)."},
)
async def update_booking(request: web.Request) -> web.Response:
    user = require(request, "client")
    booking_id = path_id(request, _not_found)
    parse(BookingUpdateBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        booking = await bookings.cancel(conn, booking_id=booking_id, client_id=user.id)
    return json_response(booking)


@describe(
    "The hourly slots of a date with the expected idle assistants nearby",
    roles=ANY_ROLE,
    tag="bookings",
    query=AvailabilityQuery,
    response=Availability,
)
async def availability(request: web.Request) -> web.Response:
    require(request)
    query = parse(AvailabilityQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        slots = await bookings.availability(
            conn, lat=query.lat, lng=query.lng, service_type=query.service_type, day=query.date
        )
    return json_response(
        {
            "date": query.date.isoformat(),
            "service_type": query.service_type,
            "lat": query.lat,
            "lng": query.lng,
            "slots": slots,
        }
    )


@describe(
    "The assistant's shifts, newest first",
    roles=("assistant",),
    tag="time",
    query=ShiftsQuery,
    response=Shifts,
)
async def shifts(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    query = parse(ShiftsQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        items = await list_shifts(conn, assistant_id=user.id, since=query.since, limit=query.limit)
    return json_response(items)
