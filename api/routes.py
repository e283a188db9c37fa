"""The whole route table in one place; every path answers with and without its trailing slash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from api.handlers import assistance, health
from api.ws import channels

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add(router: web.UrlDispatcher, method: str, path: str, handler: Handler) -> None:
    """Register `path` (which ends in '/') and its slash-less twin, without any redirect."""
    router.add_route(method, path, handler)
    router.add_route(method, path.rstrip("/"), handler)


def setup_routes(app: web.Application) -> None:
    r = app.router
    add(r, "GET", "/api/health/", health.health)
    add(r, "POST", "/api/assistance/request/", assistance.request_assistance)
    add(r, "GET", "/api/assistance/view/", assistance.view_list)
    add(r, "GET", "/api/assistance/view/{id}/", assistance.view_one)
    add(r, "PATCH", "/api/assistance/accept/{id}/", assistance.accept)
    add(r, "PATCH", "/api/assistance/update/{id}/", assistance.update_status)
    add(r, "PATCH", "/api/assistance/update/status/{id}/", assistance.update_status)
    add(r, "POST", "/api/assistance/rate/{id}/", assistance.rate)
    add(r, "GET", "/ws/assistant/{id}/", channels.assistant_channel)
    add(r, "GET", "/ws/assistance/{id}/", channels.assistance_channel)
