"""Prometheus metrics at /metrics (prometheus-client, multiprocess mode under WORKERS=N): requests
and latency per route, open sockets per channel kind, pool usage, database errors, the event path
(delivery lag of a probe event through the real bus, listeners connected and down, reconnections,
table reads, frames published, the unpublished backlog), location frames written, coalesced and
dropped, and offers sent/declined/expired (from the database)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, cast

import asyncpg
import orjson
from aiohttp import web
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from api.describe import PUBLIC, describe
from api.keys import BATCHER, BUS, HUB, OWN_POOL, POOL, PUBLISHER, SETTINGS
from api.ws.hub import Peer
from dispatch.core.db import CONNECTION_LOST, database_unavailable
from dispatch.core.errors import AuthenticationError, from_postgres
from dispatch.events.listener import EventBus
from dispatch.events.publisher import Publisher
from dispatch.positions.store import PositionBatcher

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# prometheus-client keeps metrics process-wide by design; in multiprocess mode (the serve command
# sets PROMETHEUS_MULTIPROC_DIR before this import) each process writes its own files and any
# worker's /metrics reads them all.
REQUESTS = Counter(
    "dispatch_http_requests", "HTTP requests by route and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "dispatch_http_request_duration_seconds",
    "HTTP request latency by route (WebSocket routes excluded: they last a connection).",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SOCKETS = Gauge(
    "dispatch_websockets_open",
    "Open WebSockets by channel kind.",
    ["channel"],
    multiprocess_mode="livesum",
)
POOL_CONNECTIONS = Gauge(
    "dispatch_db_pool_connections",
    "Database pool connections of the live processes: size, idle, in_use, max.",
    ["state"],
    multiprocess_mode="livesum",
)
DB_ERRORS = Counter(
    "dispatch_db_errors",
    "Database failures met by requests: unavailable (connection lost, shutdown), timeout, "
    "error (unexpected SQL error). Refusals with the project's SQLSTATEs are not errors.",
    ["kind"],
)
EVENT_LAG = Histogram(
    "dispatch_event_delivery_lag_seconds",
    "From a probe event's emit to its arrival at this process's hub, through the event bus.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# The event path of each process (dispatch/events/listener.py, dispatch/events/publisher.py): copied from the
# listener's and the publisher's own counts at every probe and every scrape (dispatch/ does not
# know about Prometheus).
LISTENERS_UP = Gauge(
    "dispatch_event_listeners_connected",
    "Live processes whose event listener is connected (healthy: one per worker).",
    multiprocess_mode="livesum",
)
LISTENER_DOWN = Gauge(
    "dispatch_event_listener_down_seconds",
    "The longest current disconnection of a live process's event listener (0: all connected).",
    multiprocess_mode="livemax",
)
LISTENER_CONNECTS = Counter(
    "dispatch_event_listener_connects",
    "Event listener connections, the first of each process included (more: reconnections).",
)
LISTENER_READS = Counter(
    "dispatch_event_table_reads",
    "Reads of dispatch.event_log by the listeners (after a (re)connect, a wake-up whose events "
    "did not fit its NOTIFY payload, and the safety-net poll).",
)
PUBLISHED = Counter(
    "dispatch_events_published",
    "Frames numbered (given their seq) by this node's publishers.",
)
# The location batcher's counts (dispatch/positions/store.py), copied the same way: every frame a
# socket delivered ends in exactly one outcome once its batch is written.
LOCATION_FRAMES = Counter(
    "dispatch_location_frames",
    "WebSocket location frames by outcome: written (a user's newest frame of a batch, stored), "
    "coalesced (replaced by a newer frame of the same user before its batch was written), dropped "
    "(the backlog was full or the database failed).",
    ["outcome"],
)
LOCATION_OUTCOMES = ("written", "coalesced", "dropped")

OFFER_STATES = ("declined", "expired")
# The database-wide figures (the same on every node), read at most every _DATABASE_CACHE_S.
_DATABASE_SQL = """
SELECT count(*) AS sent,
       count(*) FILTER (WHERE state = 'declined') AS declined,
       count(*) FILTER (WHERE state = 'expired') AS expired,
       (SELECT count(*) FROM dispatch.event_log e WHERE e.seq IS NULL) AS unpublished
  FROM dispatch.offers
"""
_DATABASE_CACHE_S = 5.0
_CHANNEL = web.RequestKey("metrics_channel", str)
DB_FIGURES = web.AppKey("metrics_database_figures", dict)


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"  # 404/405 of unknown paths: one label, not one per path tried
    path = resource.canonical
    return path if path.endswith("/") else path + "/"


class EventPathFigures:
    """Copies a process's listener, publisher and location batcher counts into the metrics above
    (counters by the difference since the last copy)."""

    def __init__(self) -> None:
        self._seen = {"connects": 0, "reads": 0, "published": 0}
        self._frames = dict.fromkeys(LOCATION_OUTCOMES, 0)

    def update_frames(self, batcher: PositionBatcher) -> None:
        for outcome in LOCATION_OUTCOMES:
            now = getattr(batcher, outcome)
            if now > self._frames[outcome]:
                LOCATION_FRAMES.labels(outcome).inc(now - self._frames[outcome])
            self._frames[outcome] = now

    def update(self, bus: EventBus, publisher: Publisher) -> None:
        LISTENERS_UP.set(1 if bus.connected.is_set() else 0)
        LISTENER_DOWN.set(bus.down_for())
        for name, now, counter in (
            ("connects", bus.connects, LISTENER_CONNECTS),
            ("reads", bus.reads, LISTENER_READS),
            ("published", publisher.published, PUBLISHED),
        ):
            if now > self._seen[name]:
                counter.inc(now - self._seen[name])
            self._seen[name] = now


EVENT_PATH = web.AppKey("metrics_event_path", EventPathFigures)


def update_event_path(app: web.Application) -> None:
    bus, publisher, batcher = app.get(BUS), app.get(PUBLISHER), app.get(BATCHER)
    if bus is not None and publisher is not None:
        app[EVENT_PATH].update(bus, publisher)
    if batcher is not None:
        app[EVENT_PATH].update_frames(batcher)


def update_pool(pool: Any) -> None:
    if not hasattr(pool, "get_size"):
        return  # a test's stand-in pool
    size, idle = pool.get_size(), pool.get_idle_size()
    POOL_CONNECTIONS.labels("size").set(size)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_CONNECTIONS.labels("in_use").set(size - idle)
    POOL_CONNECTIONS.labels("max").set(pool.get_max_size())


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: counts every answer, errors included, and times it."""
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = route_label(request)
        channel = request.get(_CHANNEL)
        if channel is not None:
            SOCKETS.labels(channel).dec()
        else:
            LATENCY.labels(request.method, route).observe(time.perf_counter() - start)
        REQUESTS.labels(request.method, route, str(status)).inc()
        update_pool(request.app[POOL])


@web.middleware
async def db_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inside the error middleware: sees database exceptions before they become answers."""
    try:
        return await handler(request)
    except asyncpg.PostgresError as exc:
        if from_postgres(exc) is None:
            DB_ERRORS.labels("unavailable" if database_unavailable(exc) else "error").inc()
        raise
    except CONNECTION_LOST:
        DB_ERRORS.labels("unavailable").inc()
        raise
    except TimeoutError:
        DB_ERRORS.labels("timeout").inc()
        raise


async def _count_sockets(request: web.Request, response: web.StreamResponse) -> None:
    if isinstance(response, web.WebSocketResponse) and response.status == 101:
        channel = route_label(request).split("/")[2]  # /ws/<kind>/...
        request[_CHANNEL] = channel
        SOCKETS.labels(channel).inc()


class _DatabaseCollector(Collector):
    """The database-wide figures: offers sent, declined, expired; the unpublished event batches."""

    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for state in ("sent", *OFFER_STATES):
            family = CounterMetricFamily(
                f"dispatch_offers_{state}",
                f"Offers {state} (database-wide: the same on every node, take max() not sum()).",
            )
            family.add_metric([], self._counts[state])
            yield family
        backlog = GaugeMetricFamily(
            "dispatch_event_log_unpublished",
            "Committed event batches not numbered yet (database-wide: take max() not sum()); "
            "more than a few for long means no publisher is running.",
        )
        backlog.add_metric([], self._counts["unpublished"])
        yield backlog


class _Default(Collector):
    """The process's own registry (single-process mode, e.g. tests)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


async def _database_figures(app: web.Application) -> dict[str, int] | None:
    cache = app[DB_FIGURES]
    if time.monotonic() - cache.get("at", -1e9) < _DATABASE_CACHE_S:
        return cast(dict[str, int], cache["counts"])
    try:
        async with app[POOL].acquire(timeout=2) as conn:
            row = await conn.fetchrow(_DATABASE_SQL, timeout=2)
    except (asyncpg.PostgresError, OSError, TimeoutError):
        DB_ERRORS.labels("unavailable").inc()
        return None
    counts = {key: int(row[key]) for key in ("sent", *OFFER_STATES, "unpublished")}
    cache.update(at=time.monotonic(), counts=counts)
    return counts


@describe(
    "Prometheus metrics (only with DISPATCH_METRICS=1)",
    roles=PUBLIC,
    tag="operations",
    description="Text exposition format. With DISPATCH_METRICS_TOKEN set, send "
    "`Authorization: Bearer <that token>` (not a user's JWT).",
    errors={401: "DISPATCH_METRICS_TOKEN is set and the request does not carry it."},
    content_type="text/plain",
)
async def metrics(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics.token
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise AuthenticationError("The metrics token is missing or wrong.")
    update_pool(request.app[POOL])
    update_event_path(request.app)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    counts = await _database_figures(request.app)
    if counts is not None:
        registry.register(_DatabaseCollector(counts))
    body = generate_latest(registry)
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


class _ProbeSink:
    """Stands in for a socket on the probe topic: measures how long the probe event took."""

    user_id = 0

    def send(self, message: str, seq: int | None = None) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            EVENT_LAG.observe(max(0.0, time.time() - float(orjson.loads(message)["sent"])))

    async def finish(self, within: float) -> None:
        """Nothing to close at shutdown (the hub closes its sockets)."""


async def _probe_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every DISPATCH_METRICS_PROBE_S, emit an event to this process's own probe topic through
    dispatch.emit (the path every event takes) and time its arrival; also refresh pool gauges."""
    interval = app[SETTINGS].metrics.probe_s
    if not app[OWN_POOL] or interval <= 0:
        yield
        return
    topic = f"metrics-probe:{os.getpid()}:{id(app)}"
    sink = cast(Peer, _ProbeSink())
    app[HUB].subscribe(topic, sink)

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            update_pool(app[POOL])
            update_event_path(app)
            try:
                await app[POOL].execute(
                    "SELECT dispatch.emit($1, $2::jsonb)", topic, {"sent": time.time()}
                )
            except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
                DB_ERRORS.labels("unavailable").inc()
                log.warning("metrics probe failed: %s", type(exc).__name__)

    task = asyncio.create_task(loop(), name="metrics-probe")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    app[HUB].unsubscribe(topic, sink)


def setup_metrics(app: web.Application) -> None:
    """Wire metrics into an app built with DISPATCH_METRICS on (see create_app)."""
    app[DB_FIGURES] = {}
    app[EVENT_PATH] = EventPathFigures()
    app.on_response_prepare.append(_count_sockets)
    app.cleanup_ctx.append(_probe_ctx)
    app.router.add_route("GET", "/metrics", metrics)
    app.router.add_route("GET", "/metrics/", metrics)
