"""JSON responses serialised with orjson, and request-body parsing with the contract's errors."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from api.jsonsafe import depth_exceeds
from api.keys import SETTINGS
from dispatch.core.errors import ValidationError


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
        headers=headers,
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 for anything else (413 comes from the size limit)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationError("The request body is not valid JSON.", code="INVALID_JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.", code="INVALID_JSON")
    if depth_exceeds(data, request.app[SETTINGS].http.max_json_depth):
        raise ValidationError("The request body is nested too deeply.", code="INVALID_JSON")
    return data
