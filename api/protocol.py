"""aiohttp's own answers (a malformed request line or header, say) in the contract's error shape."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web_server
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from api.middleware import http_error


class ContractRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors as the application does.

    What the HTTP parser refuses (a bad header, request line or chunk) never reaches the
    application's middlewares: aiohttp answers it itself, in text/plain, quoting the offending
    bytes, a bearer token included. Here the answer is the error shape with the status's fixed
    sentence (`BAD_REQUEST`); the input goes only to the log, which redacts tokens."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        # aiohttp's own handling logs the error (and refuses when a response has begun); its
        # text body, which echoes the input, is not sent.
        super().handle_error(request, status, exc, None)
        response = http_error(status, reason=HTTPStatus(status).phrase)
        response.force_close()
        return response


def install() -> None:
    """Have aiohttp's servers (run_app's and the tests' alike) build their connections with the
    handler above: web_server.Server constructs the RequestHandler its module names."""
    web_server.RequestHandler = ContractRequestHandler  # type: ignore[misc]
