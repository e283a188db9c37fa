"""A client's own channel (/ws/client/<id>/): what happens to its bookings (booking_activated,
booking_failed), since a booking has no request channel to listen to until it is converted."""

from __future__ import annotations

from aiohttp import web

from api.describe import describe
from api.paths import path_id
from api.ws.catalogue import CLIENT_CHANNEL, WS_ERRORS
from api.ws.channels import _serve, _since, ws_user
from dispatch.core.errors import PermissionDenied

CLIENT_FRAMES = frozenset({"ping"})


@describe(
    "A client's own channel: what happens to its bookings",
    roles=("client",),
    tag="websockets",
    status=101,
    description="A WebSocket for the client itself (token in `?token=` or the Authorization "
    "header); after `booking_activated` join the request's channel.",
    errors=WS_ERRORS,
    channel=CLIENT_CHANNEL,
)
async def client_channel(request: web.Request) -> web.StreamResponse:
    user = await ws_user(request)
    channel_id = path_id(request)
    if user.role != "client" or user.id != channel_id:
        raise PermissionDenied("This channel belongs to another client.")
    return await _serve(
        request,
        user,
        topic=f"client:{user.id}",
        greeting=f"Connected as client_{user.id}",
        status=None,
        allowed=CLIENT_FRAMES,
        assistance_id=None,
        since=_since(request),
    )
