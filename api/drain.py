"""Publishing kicks and the shutdown drain: stop accepting, finish requests, deliver, then close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from api.keys import BATCHER, BUS, HUB, INFLIGHT, OWN_POOL, POOL, PUBLISHER, SETTINGS
from dispatch.runtime.drain_barrier import DRAIN_FD_ENV

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_ERRORS = (Exception,)  # the database may be gone at shutdown: never block the exit on it


@web.middleware
async def publish_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts in-flight requests, and kicks the publisher after any that may have emitted events
    (a mutating method): its events are numbered and delivered while the response is written."""
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    inflight = request.app[INFLIGHT]
    if not upgrade:
        inflight.enter()
    try:
        return await handler(request)
    finally:
        if not upgrade:
            inflight.leave()
        if request.method not in _SAFE:
            request.app[PUBLISHER].kick()


async def drain(app: web.Application) -> None:
    """on_shutdown, after aiohttp has stopped accepting connections: wait for the in-flight
    requests, publish and deliver their events, then close every socket once its queue is written.
    Closing sockets first (as aiohttp would) loses the events of requests finishing meanwhile.
    Under `dispatch serve --workers N` every worker also waits for the others' requests (their
    events are for these sockets too) before it closes its own sockets."""
    settings = app[SETTINGS]
    started = time.monotonic()
    if not await app[INFLIGHT].quiet(settings.http.shutdown_timeout):
        log.warning("shutdown: %d requests still running", app[INFLIGHT].count)
    if app[OWN_POOL] and BUS in app:
        with contextlib.suppress(*_ERRORS):
            await app[BATCHER].flush()  # the last positions, relayed before the sockets close
        with contextlib.suppress(*_ERRORS):
            await app[PUBLISHER].publish_pending()
        await _barrier(settings.http.shutdown_timeout)
        with contextlib.suppress(*_ERRORS):
            await app[PUBLISHER].publish_pending()  # what the other workers left, if they died
            target = await app[POOL].fetchval("SELECT last_seq FROM dispatch.event_cursor")
            if not await app[BUS].caught_up(target, settings.realtime.drain_events_s):
                log.warning("shutdown: events up to %s not all delivered", target)
    if HUB in app:
        await app[HUB].close_all(within=settings.realtime.send_timeout)
    log.info("shutdown: drained in %.2f s", time.monotonic() - started)


async def _barrier(within: float) -> None:
    """Tell the supervisor this worker's requests are done, and wait until every worker's are
    (the supervisor answers with SIGUSR2). Not under a supervisor: nothing to wait for."""
    raw = os.environ.get(DRAIN_FD_ENV)
    if not raw:
        return
    loop = asyncio.get_running_loop()
    everyone = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR2, everyone.set)
    try:
        os.write(int(raw), f"{os.getpid()}\n".encode())
        await asyncio.wait_for(everyone.wait(), within)
    except (OSError, TimeoutError, ValueError) as exc:
        log.warning("shutdown: no word from the other workers (%s)", type(exc).__name__)
