"""App state of the accounts area: the Google verifier, the outbox sender and its drain loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from api.keys import POOL, SETTINGS
from dispatch.accounts import outbox
from dispatch.accounts.google import GoogleVerifier
from dispatch.core import ratelimit
from dispatch.core.db import transaction
from dispatch.core.periodic import Periodic

GOOGLE = web.AppKey("google", GoogleVerifier)
SENDER = web.AppKey("sender", outbox.Sender)


async def _drain(app: web.Application) -> None:
    """Send what the outbox holds, then purge expired rate-limit rows."""
    while await outbox.drain(app[POOL], app[SENDER]):
        pass
    async with transaction(app[POOL]) as conn:
        await ratelimit.purge(conn)


def setup_accounts(app: web.Application, *, background: bool) -> None:
    """Register the accounts state; `background` starts the outbox drainer (off when a test
    hands the app its own pool and drains the outbox itself)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS].accounts
        app[GOOGLE] = GoogleVerifier(settings)
        app[SENDER] = outbox.sender_for(settings)
        # Sleeps first: start-up is left to the requests, and the pool is not grown just to drain.
        drainer = Periodic(
            "outbox-drain", lambda: _drain(app), interval=settings.outbox_interval, delay_first=True
        )
        if background:
            await drainer.start()
        yield
        await drainer.stop()

    app.cleanup_ctx.append(ctx)
