"""The application factory: settings in, a configured aiohttp application out."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from api.accounts_setup import setup_accounts
from api.auth import jwt_middlewares
from api.drain import drain, publish_middleware
from api.inflight import InFlight
from api.keys import (
    BATCHER,
    BUS,
    DB_URL,
    HUB,
    INFLIGHT,
    OWN_POOL,
    POOL,
    PUBLISHER,
    REVOCATIONS,
    SETTINGS,
)
from api.middleware import error_middleware
from api.routes import setup_routes
from api.ws.hub import Hub
from dispatch import db
from dispatch.auth import revocation
from dispatch.config import Settings
from dispatch.devdb import database_url
from dispatch.events import EventBus
from dispatch.positions import PositionBatcher
from dispatch.publisher import Publisher


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    if not app[OWN_POOL]:  # given by the caller (tests), who also closes it
        yield
        return
    settings = app[SETTINGS]
    # If the database is down at start-up, open connections lazily instead: the server still
    # starts, answers /api/health/ with 503, and recovers when the database comes back.
    try:
        app[POOL] = await db.create_pool(settings.db, app[DB_URL])
    except OSError:
        app[POOL] = await db.create_pool(dataclasses.replace(settings.db, pool_min=0), app[DB_URL])
    yield
    await app[POOL].close()


async def _realtime_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hub of local sockets, the event publisher and listener feeding it, the location batcher."""
    settings = app[SETTINGS]
    rt = settings.realtime
    app[HUB] = hub = Hub()
    # An app on a caller's pool (a test transaction) commits nothing others could see: no
    # publisher or listener then, and the revocation cache never trusts itself (every token is
    # checked in the database).
    listen = app[OWN_POOL]

    def deliver(topic: str, message: str, skip_user: int | None, seq: int | None) -> None:
        if topic == revocation.TOPIC:
            revocations.on_event(message)
        else:
            hub.deliver(topic, message, skip_user, seq)

    app[BUS] = bus = EventBus(app[DB_URL], deliver, poll=rt.event_poll_ms / 1000)
    app[PUBLISHER] = publisher = Publisher(
        app[POOL],
        interval=rt.event_publish_ms / 1000,
        on_published=bus.offer,
        retention_h=rt.event_retention_h,
        prune_every=rt.event_prune_s,
    )
    app[REVOCATIONS] = revocations = revocation.RevocationCache(
        ttl=settings.auth.revocation_cache_s,
        listening=lambda: listen and bus.connected.is_set(),
        epoch=lambda: bus.connects,
    )
    app[BATCHER] = batcher = PositionBatcher(app[POOL], interval=rt.location_flush_ms / 1000)
    if listen:
        await bus.start()
        await publisher.start()
    await batcher.start()
    yield
    await batcher.stop()
    if listen:
        await publisher.stop()
        with contextlib.suppress(Exception):  # the database may be gone: the rows wait for others
            await publisher.publish_pending()  # what the last requests committed, for the others
        await bus.stop()


def create_app(
    settings: Settings, *, db_url: str | None = None, pool: asyncpg.Pool | None = None
) -> web.Application:
    """The engine's application; `pool` lets a caller share a pool (or a test transaction)."""
    app = web.Application(
        middlewares=[publish_middleware, error_middleware, *jwt_middlewares(settings.auth)],
        client_max_size=settings.http.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[DB_URL] = db_url or database_url(settings.db)
    app[OWN_POOL] = pool is None
    if pool is not None:
        app[POOL] = pool
    app.cleanup_ctx.append(_pool_ctx)
    app.cleanup_ctx.append(_realtime_ctx)
    app[INFLIGHT] = InFlight()
    # Shutdown order: aiohttp stops accepting, then this waits for the requests in flight, delivers
    # their events and closes the sockets; then the cleanup contexts above stop the background tasks.
    app.on_shutdown.append(drain)
    setup_accounts(app, background=pool is None)
    setup_routes(app)
    return app
