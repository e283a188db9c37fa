"""Profiles and positions: the user and assistant profiles, location, duty status, nearby list."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import ANY_ROLE, describe
from api.keys import POOL, SETTINGS
from api.responses import json_response
from api.schemas import accounts as s
from api.schemas.accounts import (
    ActiveAssistants,
    ActiveState,
    AssistantProfile,
    Position,
    UserProfile,
)
from api.schemas.validation import body, parse
from dispatch.accounts import users
from dispatch.core.db import connection, transaction


@describe("The caller's profile", roles=ANY_ROLE, tag="profile", response=UserProfile)
async def user_profile(request: web.Request) -> web.Response:
    user = require(request)
    async with connection(request.app[POOL]) as conn:
        profile = await users.get_profile(conn, user_id=user.id)
    return json_response({**profile, "user": profile})


@describe(
    "Change the caller's profile (a changed email or phone is verified again)",
    roles=ANY_ROLE,
    tag="profile",
    body=s.UserUpdateBody,
    response=UserProfile,
    errors={409: "EMAIL_TAKEN, PHONE_TAKEN."},
)
async def update_user_profile(request: web.Request) -> web.Response:
    user = require(request)
    data = await body(request, s.UserUpdateBody)
    async with transaction(request.app[POOL]) as conn:
        profile = await users.update_profile(
            conn, request.app[SETTINGS], user_id=user.id, changes=data.changes()
        )
    return json_response({**profile, "user": profile})


@describe(
    "The assistant's profile, with licence and vehicle",
    roles=("assistant",),
    tag="profile",
    response=AssistantProfile,
)
async def assistant_profile(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    async with connection(request.app[POOL]) as conn:
        profile = await users.get_profile(conn, user_id=user.id)
    return json_response({**profile, "assistant": profile})


@describe(
    "Change the assistant's profile",
    roles=("assistant",),
    tag="profile",
    body=s.AssistantUpdateBody,
    response=AssistantProfile,
    errors={409: "EMAIL_TAKEN, PHONE_TAKEN."},
)
async def update_assistant_profile(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    data = await body(request, s.AssistantUpdateBody)
    async with transaction(request.app[POOL]) as conn:
        profile = await users.update_profile(
            conn, request.app[SETTINGS], user_id=user.id, changes=data.changes()
        )
    return json_response({**profile, "assistant": profile})


@describe(
    "Store the caller's position (relayed to the other party of an open job)",
    roles=ANY_ROLE,
    tag="profile",
    body=s.LocationBody,
    response=Position,
)
async def update_location(request: web.Request) -> web.Response:
    user = require(request)
    data = await body(request, s.LocationBody)
    async with transaction(request.app[POOL]) as conn:
        position = await users.set_location(conn, user_id=user.id, lat=data.lat, lng=data.lng)
    return json_response(position)


@describe(
    "Go on or off duty",
    roles=("assistant",),
    tag="profile",
    body=s.AccountsStatusBody,
    response=ActiveState,
    errors={409: "POSITION_REQUIRED, LICENSE_EXPIRED."},
)
async def assistant_status(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    data = await body(request, s.AccountsStatusBody)
    async with transaction(request.app[POOL]) as conn:
        active = await users.set_assistant_active(conn, user_id=user.id, active=data.is_active)
    return json_response({"is_active": active, "is_active_assistant": active})


@describe(
    "Active assistants nearest first from the caller's (or the query's) position",
    roles=ANY_ROLE,
    tag="profile",
    query=s.AccountsAssistantsQuery,
    response=ActiveAssistants,
)
async def assistants(request: web.Request) -> web.Response:
    user = require(request)
    query = parse(s.AccountsAssistantsQuery, request.query)
    async with connection(request.app[POOL]) as conn:
        found = await users.active_assistants(
            conn,
            caller_id=user.id,
            lat=query.lat,
            lng=query.lng,
            service_type=query.service_type,
            radius_km=query.radius_km,
            limit=query.limit,
        )
    return json_response(found)
