"""Incoming WebSocket frames: parse and validate, answering problems with the text of an error frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from api.jsonsafe import has_nul

MAX_CHAT_CHARS = 2000


class FrameError(ValueError):
    """A frame the server cannot act on; its message goes back in an `error` frame."""


@dataclass(frozen=True)
class Location:
    lat: float
    lng: float


@dataclass(frozen=True)
class Chat:
    message: str


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Subscribe:
    """A dispatcher narrowing the feed to [minLng, minLat, maxLng, maxLat] (None: everywhere)."""

    bbox: tuple[float, float, float, float] | None


Frame = Location | Chat | Ping | Subscribe


def _coordinate(data: dict[str, Any], names: tuple[str, ...], bound: float) -> float:
    for name in names:
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FrameError(f"'{name}' must be a number")
            value = float(value)
            if not math.isfinite(value) or not -bound <= value <= bound:
                raise FrameError(f"'{name}' must be between -{bound:g} and {bound:g}")
            return value
    raise FrameError(f"'{names[0]}' is required")


def parse(text: str, *, allowed: frozenset[str]) -> Frame:
    """The frame in `text`; `allowed` names the message types this channel accepts."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError("frames must be JSON objects") from None
    if not isinstance(data, dict):
        raise FrameError("frames must be JSON objects")
    if has_nul(data):  # Postgres text cannot hold NUL: refuse here, as REST bodies are
        raise FrameError("frames must not contain NUL characters")
    kind = data.get("type")
    if kind == "location_update":
        kind = "location"
    if not isinstance(kind, str) or kind not in allowed:
        raise FrameError(f"unknown message type; expected one of: {', '.join(sorted(allowed))}")
    if kind == "location":
        return Location(
            lat=_coordinate(data, ("lat", "latitude"), 90.0),
            lng=_coordinate(data, ("lng", "longitude"), 180.0),
        )
    if kind == "chat":
        message = data.get("message")
        if not isinstance(message, str) or not message.strip():
            raise FrameError("'message' must be a non-empty string")
        message = message.strip()
        if len(message) > MAX_CHAT_CHARS:
            raise FrameError(f"'message' must be at most {MAX_CHAT_CHARS} characters")
        return Chat(message=message)
    if kind == "subscribe":
        return Subscribe(bbox=_bbox(data.get("bbox")))
    return Ping()


def _bbox(value: Any) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4:
        raise FrameError("'bbox' must be [minLng, minLat, maxLng, maxLat] or null")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in value):
        raise FrameError("'bbox' must hold four numbers")
    min_lng, min_lat, max_lng, max_lat = (float(v) for v in value)
    for lng in (min_lng, max_lng):
        if not math.isfinite(lng) or not -180 <= lng <= 180:
            raise FrameError("'bbox' longitudes must be between -180 and 180")
    for lat in (min_lat, max_lat):
        if not math.isfinite(lat) or not -90 <= lat <= 90:
            raise FrameError("'bbox' latitudes must be between -90 and 90")
    if min_lng > max_lng or min_lat > max_lat:
        raise FrameError("'bbox' minimum must not exceed its maximum")
    return (min_lng, min_lat, max_lng, max_lat)


def error_frame(message: str) -> str:
    return orjson.dumps({"type": "error", "message": message}).decode()
