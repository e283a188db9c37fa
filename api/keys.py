"""Typed application keys: every piece of app state lives behind one of these."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from api.inflight import InFlight
from api.ws.hub import Hub
from dispatch.accounts.revocation import RevocationCache
from dispatch.core.config import Settings
from dispatch.events.listener import EventBus
from dispatch.events.publisher import Publisher
from dispatch.positions.store import PositionBatcher
from dispatch.scheduling.timekeeper import TimeKeeper

SETTINGS = web.AppKey("settings", Settings)
DB_URL = web.AppKey("db_url", str)
POOL = web.AppKey("pool", asyncpg.Pool)
OWN_POOL = web.AppKey("own_pool", bool)  # False when the caller (a test) supplied the pool
HUB = web.AppKey("hub", Hub)
BUS = web.AppKey("bus", EventBus)  # the listener: .connected, .connects, .cursor, .down_for()
# The publisher: call `app[PUBLISHER].kick()` after committing anything that emitted events outside
# an HTTP request (mutating requests kick it themselves), e.g. from an offer-round driver.
PUBLISHER = web.AppKey("publisher", Publisher)
INFLIGHT = web.AppKey("inflight", InFlight)
BATCHER = web.AppKey("batcher", PositionBatcher)
REVOCATIONS = web.AppKey("revocations", RevocationCache)
TIMEKEEPER = web.AppKey("timekeeper", TimeKeeper)
