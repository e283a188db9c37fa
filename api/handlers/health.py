"""Health check: is the server up and can it reach the database."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from api.describe import PUBLIC, describe
from api.keys import POOL
from api.responses import json_response
from api.schemas.responses import Health

log = logging.getLogger(__name__)

_DB_TIMEOUT = 2.0


@describe(
    "Is the server up and can it reach the database",
    roles=PUBLIC,
    tag="operations",
    response=Health,
    responses={503: ("The database is unreachable.", Health)},
)
async def health(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), _DB_TIMEOUT)
    except Exception as exc:  # any failure of the probe means the database is not usable
        log.warning("health check: database unavailable (%s)", type(exc).__name__)
        return json_response({"status": "error", "database": "unavailable"}, status=503)
    return json_response({"status": "ok", "database": "ok"})
