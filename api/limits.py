"""HTTP-level limits every route shares: a deadline on reading request bodies, a plain Server header,
aiohttp's own error answers in the error shape."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web, web_response

from api import protocol
from api.keys import SETTINGS
from dispatch.core.errors import DispatchError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SERVER = "dispatch"


class BodyTimeout(DispatchError):
    status = 408
    code = "REQUEST_TIMEOUT"
    message = "The request body did not arrive in time."


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read any request body in full within DISPATCH_BODY_TIMEOUT_S before the handler runs.

    aiohttp bounds the wait for headers but not for a body: a client dripping one byte every few
    seconds would hold a connection (and a handler) forever. The body is read here once; the
    handler's own read returns the buffered bytes."""
    if request.body_exists and not request.headers.get("Upgrade"):
        try:
            async with asyncio.timeout(request.app[SETTINGS].http.body_timeout):
                await request.read()
        except TimeoutError:
            # The rest of the body may still be on its way: the connection cannot be reused.
            raise BodyTimeout(headers={"Connection": "close"}) from None
    return await handler(request)


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER


def setup_limits(app: web.Application) -> None:
    app.middlewares.append(body_deadline)
    app.on_response_prepare.append(_server_header)
    # Answers aiohttp writes itself (a malformed request line, say) never reach the app's signal;
    # they take the library's default, which names the Python and aiohttp versions.
    web_response.SERVER_SOFTWARE = SERVER
    # ... and their bodies echo the raw input: they are rendered in the error shape instead.
    protocol.install()
