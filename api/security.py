"""Security headers of what the engine serves to browsers: the console, Swagger UI, their files."""

from __future__ import annotations

from aiohttp import web


def content_security_policy(*, img_src: str = "'self' data:", style_src: str = "'self'") -> str:
    """Everything from this origin only (`connect-src 'self'` covers its own ws:/wss: in CSP 3
    browsers), no framing, no plugins, no <base> or form posts elsewhere; `img_src` widens images
    (the console's tile server), `style_src` admits a known inline style (Swagger UI's logo)."""
    return (
        f"default-src 'self'; img-src {img_src}; style-src {style_src}; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )


PAGE_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
    "Referrer-Policy": "no-referrer",
}


async def _page_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer that is not JSON (a page, a script, a style sheet, an icon) gets the headers
    above, unless its handler set its own (the console's CSP names its tile server); JSON answers
    and WebSocket upgrades are left alone."""
    if response.status == 101 or response.content_type == "application/json":
        return
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)


def setup_security(app: web.Application) -> None:
    app.on_response_prepare.append(_page_headers)
