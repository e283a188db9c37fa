"""Rate limits for login, registration and code endpoints: per client IP and per identifier."""

from __future__ import annotations

from aiohttp import web

from api.keys import POOL, SETTINGS
from dispatch.core import ratelimit
from dispatch.core.db import transaction
from dispatch.core.errors import RateLimited


async def limit(request: web.Request, action: str, identifier: str | None = None) -> None:
    """Count this request; 429 with Retry-After when the IP or the identifier is over its limit.

    Counted in a transaction of its own, so a request that then fails still counts."""
    s = request.app[SETTINGS].accounts
    buckets = [(f"{action}:ip:{request.remote or 'unknown'}", s.rate_limit_per_ip)]
    if identifier:
        buckets.append((f"{action}:id:{identifier.lower()}", s.rate_limit_per_identifier))
    async with transaction(request.app[POOL]) as conn:
        wait = await ratelimit.hit(conn, buckets=buckets, window=s.rate_limit_window)
    if wait:
        raise RateLimited(
            f"Too many requests; try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
            extra={"retry_after": wait},
        )
