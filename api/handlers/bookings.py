"""Scheduled bookings: make, list, cancel, and the hourly availability (thin: parse, call, answer)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.keys import POOL
from api.responses import json_response, read_json
from api.schemas.time import AvailabilityQuery, BookingBody, BookingListQuery, BookingUpdateBody
from api.schemas.validation import parse
from dispatch import bookings
from dispatch.assistance import Point
from dispatch.db import connection
from dispatch.errors import NotFound


def _booking_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("Booking not found.", code="BOOKING_NOT_FOUND")
    return int(raw)


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


async def list_bookings(request: web.Request) -> web.Response:
    user = require(request, "client", "dispatcher")
    query = parse(BookingListQuery, dict(request.query))
    async with connection(request.app[POOL]) as conn:
        items = await bookings.list_for(
            conn, user_id=user.id, status=query.status, limit=query.limit, offset=query.offset
        )
    return json_response({"count": len(items), "results": items})


async def update_booking(request: web.Request) -> web.Response:
    user = require(request, "client")
    booking_id = _booking_id(request)
    parse(BookingUpdateBody, await read_json(request))
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        booking = await bookings.cancel(conn, booking_id=booking_id, client_id=user.id)
    return json_response(booking)


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
