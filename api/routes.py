"""The whole route table in one place; every path answers with and without its trailing slash."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from api.handlers import (
    assistance,
    auth,
    console,
    docs,
    fleet,
    health,
    money,
    operations,
    positions,
    profile,
    scheduling,
    zones,
)
from api.ws import channels, client

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Routes(Protocol):
    """What `add` registers on: aiohttp's router, or the table that collects the routes first."""

    def add_route(self, method: str, path: str, handler: Handler) -> object: ...


def add(router: Routes, method: str, path: str, handler: Handler) -> None:
    """Register `path` (which ends in '/') and its slash-less twin, without any redirect."""
    router.add_route(method, path, handler)
    router.add_route(method, path.rstrip("/"), handler)


class RouteTable:
    """The routes as written, registered at once when the table is complete: a path variable
    (`{id}`) must know the literal routes beside it (see `_shadowing`)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Handler]] = []

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self._routes.append((method, path, handler))

    def register(self, router: web.UrlDispatcher) -> None:
        paths = {path for _, path, _ in self._routes}
        for method, path, handler in self._routes:
            router.add_route(method, _shadowing(path, paths), handler)


def _shadowing(path: str, paths: set[str]) -> str:
    """`path` with each plain variable refusing the words that a literal route of `paths` has in
    its place, the rest of the path being the same: `/api/bookings/{id}/` refuses `availability`.

    aiohttp tries every resource that matches a path until one has the method, so a method the
    literal route lacks fell through to the variable's route (PATCH /api/bookings/availability/
    answered 404 BOOKING_NOT_FOUND with `Allow: GET,PATCH`); now it is the literal route's 405.
    Anything else in the variable's place still reaches its handler, whose parser answers 404."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if not (part.startswith("{") and ":" not in part):
            continue
        words = sorted(
            other[i]
            for other in (p.split("/") for p in paths)
            if len(other) == len(parts)
            and other[i]
            and not other[i].startswith("{")
            and all(o == q for j, (o, q) in enumerate(zip(other, parts, strict=True)) if j != i)
        )
        if words:
            refused = "|".join(re.escape(w) for w in words)
            parts[i] = f"{part[:-1]}:(?!(?:{refused})(?:/|$))[^/]+}}"
    return "/".join(parts)


def setup_routes(app: web.Application) -> None:
    r = RouteTable()
    # The service: health, the OpenAPI document and Swagger UI
    add(r, "GET", "/api/health/", health.health)
    add(r, "GET", "/api/schema/", docs.schema)
    add(r, "GET", "/api/docs/", docs.docs_page)
    add(r, "GET", "/api/docs/{asset}/", docs.docs_asset)
    # Accounts: registration, logins, codes, tokens; profiles and duty status
    add(r, "POST", "/api/auth/register/", auth.register)
    add(r, "POST", "/api/auth/login/email/", auth.login_email)
    add(r, "POST", "/api/auth/login/phone/", auth.login_phone)
    add(r, "POST", "/api/auth/login/google/", auth.login_google)
    add(r, "POST", "/api/auth/verify-email/", auth.verify_email)
    add(r, "POST", "/api/auth/verify-phone/", auth.verify_phone)
    add(r, "POST", "/api/auth/resend-verification/", auth.resend_verification)
    add(r, "POST", "/api/auth/password-reset/", auth.password_reset)
    add(r, "POST", "/api/auth/password-reset/confirm/", auth.password_reset_confirm)
    add(r, "POST", "/api/auth/token/refresh/", auth.token_refresh)
    add(r, "POST", "/api/auth/logout/", auth.logout)
    add(r, "GET", "/api/profile/user/", profile.user_profile)
    add(r, "PUT", "/api/profile/user/", profile.update_user_profile)
    add(r, "PATCH", "/api/profile/user/", profile.update_user_profile)
    add(r, "GET", "/api/profile/assistant/", profile.assistant_profile)
    add(r, "PUT", "/api/profile/assistant/", profile.update_assistant_profile)
    add(r, "PATCH", "/api/profile/assistant/", profile.update_assistant_profile)
    add(r, "POST", "/api/profile/assistant-status/", profile.assistant_status)
    add(r, "PUT", "/api/profile/update-status/", profile.assistant_status)
    # Positions: where users are, the assistants near a point, telematics, a job's track
    add(r, "POST", "/api/profile/update-location/", profile.update_location)
    add(r, "GET", "/api/assistants/", profile.assistants)
    add(r, "GET", "/api/assistance/{id}/track/", positions.track)
    add(r, "POST", "/api/telematics/", positions.telematics)
    # Assistance: a request's life, its offers, its chat, and the WebSocket channels
    add(r, "POST", "/api/assistance/request/", assistance.request_assistance)
    add(r, "GET", "/api/assistance/view/", assistance.view_list)
    add(r, "GET", "/api/assistance/view/{id}/", assistance.view_one)
    add(r, "PATCH", "/api/assistance/accept/{id}/", assistance.accept)
    add(r, "PATCH", "/api/assistance/update/{id}/", assistance.update_status)
    add(r, "PATCH", "/api/assistance/update/status/{id}/", assistance.update_status)
    add(r, "POST", "/api/assistance/rate/{id}/", assistance.rate)
    add(r, "PATCH", "/api/assistance/decline/{id}/", assistance.decline)
    add(r, "GET", "/ws/assistant/{id}/", channels.assistant_channel)
    add(r, "GET", "/ws/assistance/{id}/", channels.assistance_channel)
    add(r, "GET", "/api/assistance/{id}/messages/", assistance.messages)
    # Operations: the dispatchers' API, live feed and console
    add(r, "GET", "/api/dispatch/requests/", operations.requests)
    add(r, "GET", "/api/dispatch/requests/{id}/", operations.request_detail)
    add(r, "POST", "/api/dispatch/requests/{id}/assign/", operations.assign)
    add(r, "POST", "/api/dispatch/requests/{id}/reassign/", operations.reassign)
    add(r, "POST", "/api/dispatch/requests/{id}/cancel/", operations.cancel)
    add(r, "GET", "/api/dispatch/assistants/", operations.assistants)
    add(r, "POST", "/api/dispatch/requests/{id}/messages/", operations.post_message)
    add(r, "GET", "/api/dispatch/roads/", operations.roads)
    add(r, "GET", "/api/dispatch/demand/", operations.demand)
    add(r, "GET", "/ws/dispatch/", channels.dispatch_channel)
    add(r, "GET", "/console/", console.page)
    add(r, "GET", "/console/{name:[a-z]+\\.(?:js|css)}/", console.asset)
    add(r, "GET", "/console/vendor/{path:leaflet/[a-z0-9/.-]+}/", console.vendor)
    # Fleet: clients' vehicles, service zones and the priced catalogue
    add(r, "GET", "/api/vehicles/", fleet.list_vehicles)
    add(r, "POST", "/api/vehicles/", fleet.create_vehicle)
    add(r, "GET", "/api/vehicles/{id}/", fleet.get_vehicle)
    add(r, "PUT", "/api/vehicles/{id}/", fleet.replace_vehicle)
    add(r, "PATCH", "/api/vehicles/{id}/", fleet.patch_vehicle)
    add(r, "DELETE", "/api/vehicles/{id}/", fleet.delete_vehicle)
    add(r, "GET", "/api/dispatch/zones/", zones.list_zones)
    add(r, "POST", "/api/dispatch/zones/", zones.create_zone)
    add(r, "GET", "/api/dispatch/zones/{id}/", zones.get_zone)
    add(r, "PUT", "/api/dispatch/zones/{id}/", zones.update_zone)
    add(r, "DELETE", "/api/dispatch/zones/{id}/", zones.delete_zone)
    add(r, "GET", "/api/services/", zones.catalogue)
    # Money: cost lines and invoices
    add(r, "GET", "/api/assistance/{id}/cost-lines/", money.list_cost_lines)
    add(r, "POST", "/api/assistance/{id}/cost-lines/", money.add_cost_line)
    add(r, "DELETE", "/api/assistance/{id}/cost-lines/{line_id}/", money.remove_cost_line)
    add(r, "GET", "/api/assistance/{id}/invoice/", money.get_invoice)
    # Scheduling: bookings, shifts, and a client's own channel
    add(r, "POST", "/api/bookings/", scheduling.create_booking)
    add(r, "GET", "/api/bookings/", scheduling.list_bookings)
    add(r, "GET", "/api/bookings/availability/", scheduling.availability)
    add(r, "PATCH", "/api/bookings/{id}/", scheduling.update_booking)
    add(r, "GET", "/api/profile/shifts/", scheduling.shifts)
    add(r, "GET", "/ws/client/{id}/", client.client_channel)
    r.register(app.router)
