"""App state of the accounts area: the Google verifier, the outbox sender and its drain loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from api.keys import POOL, SETTINGS
from dispatch.accounts import outbox
from dispatch.accounts.google import GoogleVerifier
from dispatch.core import ratelimit
from dispatch.core.db import transaction

log = logging.getLogger("dispatch.outbox")

GOOGLE = web.AppKey("google", GoogleVerifier)
SENDER = web.AppKey("sender", outbox.Sender)


async def _drain_forever(app: web.Application) -> None:
    interval = app[SETTINGS].accounts.outbox_interval
    while True:
        # Sleep first: start-up is left to the requests, and the pool is not grown just to drain.
        await asyncio.sleep(interval)
        try:
            while await outbox.drain(app[POOL], app[SENDER]):
                pass
            async with transaction(app[POOL]) as conn:
                await ratelimit.purge(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database may be down for a while; keep trying
            log.warning("outbox drain failed: %s", type(exc).__name__)


def setup_accounts(app: web.Application, *, background: bool) -> None:
    """Register the accounts state; `background` starts the outbox drainer (off when a test
    hands the app its own pool and drains the outbox itself)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS].accounts
        app[GOOGLE] = GoogleVerifier(settings)
        app[SENDER] = outbox.sender_for(settings)
        task = None
        if background and settings.outbox_interval > 0:
            task = asyncio.create_task(_drain_forever(app))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(ctx)
