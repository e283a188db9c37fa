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
        "description, pickup_location {lat, lng}, dropoff_location, distance, eta_s, eta_source, "
        "client {id, name}, offer_round, expires_at} - an offer",
        "offer_withdrawn": "{assistance_id, reason: accepted|canceled|expired}",
        "assigned": "{assistance_id, reason, eta_s, eta_source, ...offer fields} - a dispatcher "
        "gave you the job",
        "unassigned": "{assistance_id, reason} - a dispatcher moved the job to someone else",
    },
    client_frames=_COMMON_IN,
)
ASSISTANCE_CHANNEL = Channel(
    server_frames={
        **_COMMON_OUT,
        "status": "{assistance_id, status, assistant {id, name, phone_number, lat, lng} | null, "
        "client {id, name}, eta_s, eta_source} - at once on connect, then on every transition",
        "eta": "{assistance_id, assistant_id, eta_s, eta_source: road|straight_line, at} - the "
        "accepted assistant's new ETA to the pickup, as their positions arrive",
        "chat": "{message, sender, sender_name, sender_role, sent_at}",
        "search_exhausted": "{assistance_id}",
    },
    client_frames={**_COMMON_IN, "chat": "{message} (1-2000 characters) - stored and relayed"},
)
DISPATCH_CHANNEL = Channel(
    server_frames={
        "connection_established": "{message}",
        "request_created": "{assistance_id, status, service_type, vehicle_type, pickup {lat, lng}, "
        "searching, offer_round, exhausted_at, created_at, updated_at, ...}",
        "status": "the same fields as request_created - on every transition",
        "offer": "{assistance_id, assistant_id, round, distance, eta_s, eta_source, state, "
        "close_reason, sent_at, closed_at, pickup {lat, lng}}",
        "search_exhausted": "{assistance_id, ...} - waits in the queue",
        "eta": "{assistance_id, assistant_id, eta_s, eta_source, at, pickup {lat, lng}} - an "
        "accepted job's new ETA",
        "positions": "{assistants: [{assistant_id, lat, lng, state, at}]} - at most once per "
        "assistant per DISPATCH_FLEET_FEED_S, up to 40 to a frame",
        "error": "{message} - a bad frame; the connection stays open",
        "pong": "{}",
    },
    client_frames={
        "subscribe": "{bbox: [minLng, minLat, maxLng, maxLat] | null} - narrows the feed to an area",
        "ping": "{} - answered with pong",
    },
)
CLIENT_CHANNEL = Channel(
    server_frames={
        "connection_established": "{message}",
        "booking_activated": "{booking_id, assistance_id, assistance, nearby_assistants} - join "
        "/ws/assistance/<assistance_id>/ next",
        "booking_failed": "{booking_id, code: OPEN_REQUEST_EXISTS|REQUEST_REFUSED|INTERNAL_ERROR, "
        "reason, assistance_id}",
        "error": "{message} - a bad frame; the connection stays open",
        "pong": "{}",
    },
    client_frames={"ping": "{} - answered with pong"},
)
