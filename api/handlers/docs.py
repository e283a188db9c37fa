"""The API's description: the OpenAPI document and Swagger UI, served from the swagger-ui-py
package's files (no CDN: the page works offline)."""

from __future__ import annotations

import functools
import importlib.resources
import logging

import orjson
import swagger_ui
from aiohttp import web
from pydantic import RootModel

from api.describe import PUBLIC, describe
from api.openapi import build
from api.security import content_security_policy
from dispatch.core.errors import NotFound

log = logging.getLogger(__name__)

DOCUMENT = web.AppKey("openapi_document", bytes)

# The Swagger UI files the page needs, and their types (nothing else of the package is served).
ASSETS = {
    "swagger-ui.css": "text/css",
    "index.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# validatorUrl null: Swagger UI would otherwise send the document to an online validator.
# persistAuthorization false: the bearer token lives in the page only, never in localStorage, where
# any script of this origin could read it after the tab is closed; one that an older page stored
# there is removed.
INIT_JS = b"""window.onload = function () {
  window.localStorage.removeItem("authorized");
  window.ui = SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
};
"""
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dispatch API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="stylesheet" href="/api/docs/index.css">
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"""


class Document(RootModel[dict[str, object]]):
    """An OpenAPI 3.1 document."""


@functools.cache
def _asset(name: str) -> bytes:
    if name == "init.js":
        return INIT_JS
    return importlib.resources.files(swagger_ui).joinpath("static", name).read_bytes()


async def build_document(app: web.Application) -> None:
    """Render the document once at start-up (routes are frozen by then)."""
    doc, missing = build(app)
    if missing:  # the test suite refuses these; a running server still describes the rest
        log.warning("routes without an OpenAPI description: %s", ", ".join(missing))
    app[DOCUMENT] = orjson.dumps(doc)


def setup_docs(app: web.Application) -> None:
    app.on_startup.append(build_document)


@describe(
    "The OpenAPI 3.1 document of every route",
    roles=PUBLIC,
    tag="description",
    response=Document,
)
async def schema(request: web.Request) -> web.Response:
    return web.Response(body=request.app[DOCUMENT], content_type="application/json")


# The one inline style Swagger UI writes (the <style> of its top bar's SVG logo, from the standalone
# preset), admitted by its hash; a later Swagger UI with another logo loses the logo's colours only.
LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
PAGE_CSP = content_security_policy(style_src=f"'self' {LOGO_STYLE}")


@describe(
    "Swagger UI over the document (served by the engine, works offline)",
    roles=PUBLIC,
    tag="description",
    content_type="text/html",
)
async def docs_page(request: web.Request) -> web.Response:
    # The other security headers (nosniff, no framing) are every page's: api/security.py.
    return web.Response(
        text=PAGE, content_type="text/html", headers={"Content-Security-Policy": PAGE_CSP}
    )


@describe(
    "A Swagger UI file (CSS, JavaScript, icons) from the swagger-ui-py package",
    roles=PUBLIC,
    tag="description",
    errors={404: "Not one of the page's files: NOT_FOUND."},
    path={"asset": {"type": "string", "enum": sorted([*ASSETS, "init.js"])}},
    content_type="application/octet-stream",
)
async def docs_asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    content_type = "application/javascript" if name == "init.js" else ASSETS.get(name)
    if content_type is None:
        raise NotFound()
    return web.Response(
        body=_asset(name),
        content_type=content_type,
        headers={"Cache-Control": "public, max-age=3600"},
    )
