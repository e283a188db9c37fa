"""Health check: is the server up, can it reach the database, is its event listener connected."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from api.describe import PUBLIC, describe
from api.keys import BUS, DB_URL, OWN_POOL, POOL, SETTINGS
from api.responses import json_response
from api.schemas.service import Health
from dispatch.core.db import UNAVAILABLE_HEADERS, multi_host

log = logging.getLogger(__name__)

_DB_TIMEOUT = 2.0


def _listener(app: web.Application) -> tuple[dict[str, Any], bool]:
    """The listener's state for the body, and whether it has been down too long to be healthy."""
    if not app[OWN_POOL] or BUS not in app:
        return {"state": "off"}, True  # an app on a caller's pool (tests) has no listener
    bus = app[BUS]
    if bus.connected.is_set():
        return {"state": "up", "seq": bus.cursor}, True
    down = round(bus.down_for(), 1)
    limit = app[SETTINGS].realtime.listener_down_503_s
    return {"state": "down", "down_s": down, "seq": bus.cursor}, down <= limit


@describe(
    "Is the server up and can it reach the database",
    roles=PUBLIC,
    tag="operations",
    response=Health,
    responses={
        503: (
            "The database is unreachable (`database`: `unavailable`, or `failing_over` against a "
            "multi-host DATABASE_URL, with Retry-After), or the event listener has been down "
            "longer than DISPATCH_LISTENER_DOWN_503_S.",
            Health,
        )
    },
)
async def health(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    listener, listener_ok = _listener(request.app)
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), _DB_TIMEOUT)
    except Exception as exc:  # any failure of the probe means the database is not usable
        log.warning("health check: database unavailable (%s)", type(exc).__name__)
        # Against a multi-host URL (an HA formation) no reachable primary means a failover is
        # under way (or every node is down): clients should retry, balancers hold their traffic.
        state = "failing_over" if multi_host(request.app[DB_URL]) else "unavailable"
        body = {"status": "error", "database": state, "listener": listener}
        return json_response(body, status=503, headers=dict(UNAVAILABLE_HEADERS))
    if not listener_ok:
        # Events wait in the log while the listener is away, but this process's sockets get
        # nothing: a balancer should send clients elsewhere.
        return json_response({"status": "error", "database": "ok", "listener": listener}, 503)
    return json_response({"status": "ok", "database": "ok", "listener": listener})
