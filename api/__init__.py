"""The thin aiohttp layer: app factory, routes, handlers, WebSockets and middleware."""

from api.app import create_app

__all__ = ["create_app"]
