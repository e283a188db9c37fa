"""GET /console/: the dispatcher console's page, its modules and style sheet (api/console/), and
Leaflet from the git-ignored vendor folder the set-up fills from the npm registry."""

from __future__ import annotations

import functools
import html
import re
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from api.describe import PUBLIC, describe
from api.keys import SETTINGS
from api.security import content_security_policy
from dispatch.core.config import PROJECT_ROOT
from dispatch.core.errors import NotFound

_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
# Leaflet's own files only: its script, its style sheet and the images that style sheet names.
_VENDOR_FILE = re.compile(r"leaflet/(?:leaflet\.(?:js|css)|images/[a-z0-9-]+\.png)")


@functools.cache
def _read(name: str) -> str:
    return resources.files("api.console").joinpath(name).read_text(encoding="utf-8")


def vendor_dir(configured: str) -> Path:
    """Where `npm install --prefix` put Leaflet: DISPATCH_CONSOLE_VENDOR_DIR or .dispatch/vendor."""
    return Path(configured) if configured else PROJECT_ROOT / ".dispatch" / "vendor"


def tile_origin(tile_url: str) -> str:
    """The CSP source of a tile URL template: its scheme and host, `{s}` subdomains as `*`."""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = re.sub(r"\{[a-z]\}", "*", parts.netloc)
    return f"{parts.scheme}://{host}"


def _headers(tile_url: str) -> dict[str, str]:
    # Everything comes from this server, its socket included; tiles only from the configured tile
    # server's origin, if any. The other security headers are every page's (api/security.py).
    origin = tile_origin(tile_url)
    img = "'self' data:" + (f" {origin}" if origin else "")
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
    "One of the console's script modules or its style sheet",
    roles=PUBLIC,
    tag="console",
    path={"name": {"type": "string", "pattern": "^[a-z]+\\.(js|css)$"}},
    content_type="text/javascript",
    errors={404: "Not one of the console's files: NOT_FOUND."},
)
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    kind = _TYPES.get(name[name.rfind(".") :])
    if kind is None or kind == "image/png":
        raise NotFound()
    try:
        text = _read(name)
    except (FileNotFoundError, IsADirectoryError):
        raise NotFound() from None
    return web.Response(text=text, content_type=kind, headers=_headers(""))


@describe(
    "Leaflet's script, style sheet or images, as installed by the set-up (npm registry)",
    roles=PUBLIC,
    tag="console",
    path={"path": {"type": "string"}},
    content_type="text/javascript",
    errors={404: "Not a Leaflet file, or Leaflet is not installed (run `make setup`): NOT_FOUND."},
)
async def vendor(request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    if not _VENDOR_FILE.fullmatch(path):
        raise NotFound()
    root = vendor_dir(request.app[SETTINGS].dispatch.console_vendor_dir)
    leaflet, rest = path.split("/", 1)
    file = root / "node_modules" / leaflet / "dist" / rest
    if not file.is_file():
        raise NotFound("Leaflet is not installed here: run `make setup` (npm install).")
    kind = _TYPES[file.suffix]
    headers = _headers("") | {"Cache-Control": "public, max-age=86400"}
    return web.Response(body=file.read_bytes(), content_type=kind, headers=headers)
