"""Structured logging: the JSON access log (the application log's format lives in dispatch.core.logs)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class AccessLogger(AbstractAccessLogger):
    """One JSON line per request. The query string is left out: it may carry a WebSocket token;
    a token in the path is redacted by the log handler's filter (dispatch.core.logs.RedactSecrets)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status,
                    "ms": round(time * 1000, 2),
                    "remote": request.remote,
                    "bytes": response.body_length,
                }
            },
        )
