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
from api.handlers.docs import setup_docs
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
    TIMEKEEPER,
)
from api.limits import setup_limits
from api.middleware import error_middleware
from api.routes import setup_routes
from api.security import setup_security
from api.ws.hub import Hub
from api.ws.sessions import SESSIONS, SessionSockets
from dispatch.accounts import revocation
from dispatch.assistance.assignment import AssignmentDriver
from dispatch.assistance.etas import EtaRefresher
from dispatch.assistance.offers import OfferDriver
from dispatch.core import db
from dispatch.core.config import Settings
from dispatch.events.listener import EventBus
from dispatch.events.publisher import Publisher
from dispatch.operations.fleet_feed import FleetFeed
from dispatch.positions.store import PositionBatcher
from dispatch.runtime.devdb import database_url
from dispatch.scheduling.timekeeper import TimeKeeper


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    if not app[OWN_POOL]:  # given by the caller (tests), who also closes it
        yield
        return
    settings = app[SETTINGS]
    # If the database is down at start-up, open connections lazily instead: the server still
    # starts, answers /api/health/ with 503, and recovers when the database comes back.
    try:
        app[POOL] = await db.create_pool(settings.db, app[DB_URL])
    except Exception as exc:  # a multi-host URL mid-failover: no node is the primary yet
        if not db.database_unavailable(exc):
            raise
        app[POOL] = await db.create_pool(dataclasses.replace(settings.db, pool_min=0), app[DB_URL])
    yield
    await app[POOL].close()


async def _realtime_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hub of local sockets, the event publisher and listener feeding it, the location batcher."""
    settings = app[SETTINGS]
    rt = settings.realtime
    app[HUB] = hub = Hub()
    app[SESSIONS] = sockets = SessionSockets()
    # An app on a caller's pool (a test transaction) commits nothing others could see: no
    # publisher or listener then, and the revocation cache never trusts itself (every token is
    # checked in the database).
    listen = app[OWN_POOL]

    def deliver(topic: str, message: str, skip_user: int | None, seq: int | None) -> None:
        if topic == revocation.TOPIC:
            revocations.on_event(message)
            sockets.on_revocation(message)  # open sockets of revoked sessions close (4401)
        else:
            hub.deliver(topic, message, skip_user, seq)

    app[BUS] = bus = EventBus(
        app[DB_URL],
        deliver,
        relay=hub.deliver_to,
        poll=rt.event_poll_ms / 1000,
        connect_timeout=settings.db.connect_timeout,
    )
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
    app[BATCHER] = batcher = PositionBatcher(
        app[POOL], interval=rt.location_flush_ms / 1000, history_s=rt.location_history_s
    )
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


async def _fleet_feed_ctx(app: web.Application) -> AsyncIterator[None]:
    """Assistant positions for the dispatchers' feed (own pool only: not in test transactions)."""
    feed = FleetFeed(app[POOL], interval=app[SETTINGS].dispatch.fleet_feed_s)
    if app[OWN_POOL]:
        await feed.start()
    yield
    await feed.stop()


async def _offers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The offer-round driver, the assignment batch driver and the ETA refresher (only on the
    app's own pool: not in test transactions)."""
    settings = app[SETTINGS].dispatch
    driver = OfferDriver(
        app[POOL],
        interval=settings.offer_driver_interval_ms / 1000,
        batch=max(settings.offer_driver_batch, 1),
        # The frames of a pass go out at once instead of at the publisher's next timer pass.
        on_change=app[PUBLISHER].kick,
    )
    # offer_policy assignment: the batches and their exclusive offers (assignment.sql); idle but
    # for one cheap transaction a pass under the rounds.
    batches = AssignmentDriver(
        app[POOL],
        interval=settings.assignment_driver_interval_ms / 1000,
        max_requests=max(settings.assignment_max_requests, 1),
        on_change=app[PUBLISHER].kick,
    )
    # Accepted jobs' ETAs, refreshed as their assistants drive (etas.sql).
    etas = EtaRefresher(
        app[POOL],
        interval=settings.eta_refresh_interval_ms / 1000,
        on_change=app[PUBLISHER].kick,
    )
    if app[OWN_POOL]:
        await driver.start()
        await batches.start()
        await etas.start()
    yield
    await etas.stop()
    await batches.stop()
    await driver.stop()


async def _time_ctx(app: web.Application) -> AsyncIterator[None]:
    """Due bookings, supply samples, history partitions (only on the app's own pool)."""
    app[TIMEKEEPER] = keeper = TimeKeeper(app[POOL], app[SETTINGS].time)
    if app[OWN_POOL]:
        await keeper.start()
    yield
    await keeper.stop()


def create_app(
    settings: Settings, *, db_url: str | None = None, pool: asyncpg.Pool | None = None
) -> web.Application:
    """The engine's application; `pool` lets a caller share a pool (or a test transaction)."""
    middlewares = [error_middleware, *jwt_middlewares(settings.auth)]
    if settings.metrics.enabled:
        from api.metrics import db_error_middleware, metrics_middleware

        middlewares = [metrics_middleware, error_middleware, db_error_middleware, *middlewares[1:]]
    # Outermost: kicks the event publisher after every mutating request (api/drain.py).
    middlewares.insert(0, publish_middleware)
    app = web.Application(middlewares=middlewares, client_max_size=settings.http.max_body_bytes)
    app[SETTINGS] = settings
    app[DB_URL] = db_url or database_url(settings.db)
    app[OWN_POOL] = pool is None
    if pool is not None:
        app[POOL] = pool
    app.cleanup_ctx.append(_pool_ctx)
    app.cleanup_ctx.append(_realtime_ctx)
    app.cleanup_ctx.append(_fleet_feed_ctx)
    app.cleanup_ctx.append(_offers_ctx)
    app.cleanup_ctx.append(_time_ctx)
    app[INFLIGHT] = InFlight()
    # Shutdown order: aiohttp stops accepting, then this waits for the requests in flight, delivers
    # their events and closes the sockets; then the cleanup contexts above stop the background tasks.
    app.on_shutdown.append(drain)
    setup_limits(app)  # robustness limits (issue 14)
    setup_security(app)  # CSP, nosniff, no framing on pages and their files (issue 23)
    setup_accounts(app, background=pool is None)
    setup_routes(app)
    if settings.metrics.enabled:
        from api.metrics import setup_metrics

        setup_metrics(app)
    setup_docs(app)
    return app
