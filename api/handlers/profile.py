"""Profiles and positions: the user and assistant profiles, location, duty status, nearby list."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.keys import POOL, SETTINGS
from api.responses import json_response
from api.schemas import accounts as s
from api.schemas.validation import body, parse
from dispatch import accounts
from dispatch.db import connection, transaction


async def user_profile(request: web.Request) -> web.Response:
    user = require(request)
    async with connection(request.app[POOL]) as conn:
        profile = await accounts.get_profile(conn, user_id=user.id)
    return json_response({**profile, "user": profile})


async def update_user_profile(request: web.Request) -> web.Response:
    user = require(request)
    data = await body(request, s.UserUpdateBody)
    async with transaction(request.app[POOL]) as conn:
        profile = await accounts.update_profile(
            conn, request.app[SETTINGS], user_id=user.id, changes=data.changes()
        )
    return json_response({**profile, "user": profile})


async def assistant_profile(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    async with connection(request.app[POOL]) as conn:
        profile = await accounts.get_profile(conn, user_id=user.id)
    return json_response({**profile, "assistant": profile})


async def update_assistant_profile(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    data = await body(request, s.AssistantUpdateBody)
    async with transaction(request.app[POOL]) as conn:
        profile = await accounts.update_profile(
            conn, request.app[SETTINGS], user_id=user.id, changes=data.changes()
        )
    return json_response({**profile, "assistant": profile})


async def update_location(request: web.Request) -> web.Response:
    user = require(request)
    data = await body(request, s.LocationBody)
    async with transaction(request.app[POOL]) as conn:
        position = await accounts.set_location(conn, user_id=user.id, lat=data.lat, lng=data.lng)
    return json_response(position)


async def assistant_status(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    data = await body(request, s.StatusBody)
    async with transaction(request.app[POOL]) as conn:
        active = await accounts.set_assistant_active(conn, user_id=user.id, active=data.is_active)
    return json_response({"is_active": active, "is_active_assistant": active})


async def assistants(request: web.Request) -> web.Response:
    user = require(request)
    query = parse(s.AssistantsQuery, request.query)
    async with connection(request.app[POOL]) as conn:
        found = await accounts.active_assistants(
            conn,
            caller_id=user.id,
            lat=query.lat,
            lng=query.lng,
            service_type=query.service_type,
            radius_km=query.radius_km,
            limit=query.limit,
        )
    return json_response(found)
