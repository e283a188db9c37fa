"""Positions over time: telematics batches in, a job's track out (thin: parse, call, answer)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from api.auth import require
from api.describe import ANY_ROLE, describe
from api.handlers.assistance import assistance_not_found
from api.keys import POOL, SETTINGS
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.positions import Accepted, TelematicsBody, Track
from api.schemas.validation import parse
from dispatch.core.db import connection, transaction
from dispatch.core.errors import ValidationError
from dispatch.positions import history


@describe(
    "The assistant's path during a job as a GeoJSON LineString",
    roles=ANY_ROLE,
    tag="time",
    response=Track,
    errors={404: "ASSISTANCE_NOT_FOUND."},
)
async def track(request: web.Request) -> web.Response:
    user = require(request)
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:
        line = await history.track(conn, assistance_id=assistance_id, user_id=user.id)
    if line is None:
        raise assistance_not_found()
    return json_response(line)


@describe(
    "Post a batch of the device's positions (at most 1,000, any order)",
    roles=ANY_ROLE,
    tag="time",
    body=TelematicsBody,
    response=Accepted,
    status=202,
    errors={400: "VALIDATION_ERROR, POINTS_TOO_OLD (with `fields`)."},
)
async def telematics(request: web.Request) -> web.Response:
    user = require(request)
    body = parse(TelematicsBody, await read_json(request))
    future = body.future_points(datetime.now(UTC), request.app[SETTINGS].time.telematics_max_skew_s)
    if future:
        raise ValidationError(fields=future)
    points = [
        history.TrackPoint(p.lat, p.lng, p.recorded_at, p.speed, p.heading) for p in body.points
    ]
    async with transaction(request.app[POOL]) as conn:
        accepted = await history.store_batch(conn, user_id=user.id, points=points)
    return json_response({"accepted": accepted}, status=202)
