"""GET /console/: the dispatcher console's page and its two assets, served from api/console/."""

from __future__ import annotations

import functools
import html
from importlib import resources

from aiohttp import web

from api.describe import PUBLIC, describe
from api.keys import SETTINGS
from api.security import content_security_policy
from dispatch.core.errors import NotFound

_TYPES = {".js": "text/javascript", ".css": "text/css"}


@functools.cache
def _read(name: str) -> str:
    return resources.files("api.console").joinpath(name).read_text(encoding="utf-8")


def _headers(tile_url: str) -> dict[str, str]:
    # Everything comes from this server, its socket included; tiles only from the configured tile
    # server, if any. The other security headers are every page's (api/security.py).
    img = "'self' data:" + (" https: http:" if tile_url else "")
    return {
        "Content-Security-Policy": content_security_policy(img_src=img),
        "Cache-Control": "no-cache",
    }


@describe(
    "The dispatcher console: a live map, the queue, assign with a click (log in on the page)",
    roles=PUBLIC,
    tag="console",
    content_type="text/html",
)
async def page(request: web.Request) -> web.Response:
    tile_url = request.app[SETTINGS].dispatch.console_tile_url
    body = _read("index.html").replace("{{TILE_URL}}", html.escape(tile_url, quote=True))
    return web.Response(text=body, content_type="text/html", headers=_headers(tile_url))


@describe(
    "The console's script or style sheet",
    roles=PUBLIC,
    tag="console",
    path={"name": {"type": "string", "enum": ["console.css", "console.js"]}},
    content_type="text/javascript",
    errors={404: "Not one of the console's files: NOT_FOUND."},
)
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    kind = _TYPES.get(name[name.rfind(".") :])
    if kind is None:
        raise NotFound()
    return web.Response(text=_read(name), content_type=kind, headers=_headers(""))
