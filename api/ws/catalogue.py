"""The WebSocket channels' frames, for the OpenAPI document (`x-websocket` on each channel)."""

from __future__ import annotations

from api.describe import Channel

WS_ERRORS = {
    400: "Not a WebSocket upgrade request.",
    403: "The caller may not join this channel (also for unknown ids): PERMISSION_DENIED.",
}
_COMMON_IN = {
    "location": "{lat, lng} (alias location_update; latitude/longitude) - stored as the "
    "sender's position",
    "ping": "{} - answered with pong",
}
_COMMON_OUT = {
    "connection_established": "{message}",
    "location": "{lat, lng, user_id} - the other party's position during a job",
    "error": "{message} - a bad frame; the connection stays open",
    "pong": "{}",
}
ASSISTANT_CHANNEL = Channel(
    server_frames={
        **_COMMON_OUT,
        "new_assistance_request": "{assistance_id, service_type, assistance_type, vehicle_type, "
        "description, pickup_location {lat, lng}, dropoff_location, distance, client {id, name}, "
        "offer_round, expires_at} - an offer",
        "offer_withdrawn": "{assistance_id, reason: accepted|canceled|expired}",
    },
    client_frames=_COMMON_IN,
)
ASSISTANCE_CHANNEL = Channel(
    server_frames={
        **_COMMON_OUT,
        "status": "{assistance_id, status, assistant {id, name, phone_number, lat, lng} | null, "
        "client {id, name}} - at once on connect, then on every transition",
        "chat": "{message, sender, sender_name, sender_role, sent_at}",
        "search_exhausted": "{assistance_id}",
    },
    client_frames={**_COMMON_IN, "chat": "{message} (1-2000 characters) - stored and relayed"},
)
