"""The one error middleware: every failure leaves as the contract's JSON error shape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from api.responses import json_response
from dispatch.core.db import CONNECTION_LOST, UNAVAILABLE_HEADERS, database_unavailable
from dispatch.core.errors import DispatchError, from_postgres

log = logging.getLogger("dispatch.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: ("BAD_REQUEST", "The request is invalid."),
    401: ("NOT_AUTHENTICATED", "Authentication credentials are missing or invalid."),
    403: ("PERMISSION_DENIED", "You do not have permission to perform this action."),
    404: ("NOT_FOUND", "Not found."),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed on this path."),
    409: ("CONFLICT", "The request conflicts with the current state."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json."),
    429: ("RATE_LIMITED", "Too many requests; try again later."),
    500: ("INTERNAL_ERROR", "An unexpected error occurred."),
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, object] = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    return json_response(body, status=status, headers=headers)


def http_error(status: int, *, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    """A bare HTTP status (a router's 404, a parser's 400) in the error shape; `reason` is the
    sentence of a status without its own code."""
    code, message = _HTTP_CODES.get(status) or ("HTTP_ERROR", reason)
    return error_response(status, code, message, headers=headers)


def _render(exc: DispatchError) -> web.Response:
    return json_response(exc.body(), status=exc.status, headers=exc.headers or None)


_UNAVAILABLE = "The service is temporarily unavailable; try again shortly."


def _unavailable() -> web.Response:
    """A 503 the client should retry (a failover, a restart): each request is one transaction,
    so nothing was half written; a POST retried with its Idempotency-Key makes one request."""
    return error_response(
        503, "DATABASE_UNAVAILABLE", _UNAVAILABLE, headers=dict(UNAVAILABLE_HEADERS)
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DispatchError as exc:
        return _render(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {}
        if exc.status == 405 and "Allow" in exc.headers:
            headers["Allow"] = exc.headers["Allow"]
        return http_error(exc.status, reason=exc.reason, headers=headers or None)
    except asyncpg.PostgresError as exc:
        known = from_postgres(exc)
        if known is not None:
            return _render(known)
        if database_unavailable(exc):
            log.warning(
                "database unavailable on %s %s: %s",
                request.method,
                request.path,
                type(exc).__name__,
            )
            return _unavailable()
        log.exception("database error on %s %s", request.method, request.path)
        return error_response(500, "INTERNAL_ERROR", "An unexpected error occurred.")
    except CONNECTION_LOST as exc:
        # The database connection broke (an outage, a restart): retryable, not a bug of the request.
        log.warning(
            "database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__
        )
        return _unavailable()
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "INTERNAL_ERROR", "An unexpected error occurred.")
