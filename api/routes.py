"""The whole route table in one place; every path answers with and without its trailing slash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from api.handlers import assistance, auth, docs, health, profile
from api.ws import channels

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add(router: web.UrlDispatcher, method: str, path: str, handler: Handler) -> None:
    """Register `path` (which ends in '/') and its slash-less twin, without any redirect."""
    router.add_route(method, path, handler)
    router.add_route(method, path.rstrip("/"), handler)


def setup_routes(app: web.Application) -> None:
    r = app.router
    add(r, "GET", "/api/health/", health.health)
    # Accounts (issue 3)
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
    # Profiles and positions (issue 3)
    add(r, "GET", "/api/profile/user/", profile.user_profile)
    add(r, "PUT", "/api/profile/user/", profile.update_user_profile)
    add(r, "PATCH", "/api/profile/user/", profile.update_user_profile)
    add(r, "GET", "/api/profile/assistant/", profile.assistant_profile)
    add(r, "PUT", "/api/profile/assistant/", profile.update_assistant_profile)
    add(r, "PATCH", "/api/profile/assistant/", profile.update_assistant_profile)
    add(r, "POST", "/api/profile/update-location/", profile.update_location)
    add(r, "POST", "/api/profile/assistant-status/", profile.assistant_status)
    add(r, "PUT", "/api/profile/update-status/", profile.assistant_status)
    add(r, "GET", "/api/assistants/", profile.assistants)
    # Assistance (issue 4)
    add(r, "POST", "/api/assistance/request/", assistance.request_assistance)
    add(r, "GET", "/api/assistance/view/", assistance.view_list)
    add(r, "GET", "/api/assistance/view/{id}/", assistance.view_one)
    add(r, "PATCH", "/api/assistance/accept/{id}/", assistance.accept)
    add(r, "PATCH", "/api/assistance/update/{id}/", assistance.update_status)
    add(r, "PATCH", "/api/assistance/update/status/{id}/", assistance.update_status)
    add(r, "POST", "/api/assistance/rate/{id}/", assistance.rate)
    add(r, "GET", "/ws/assistant/{id}/", channels.assistant_channel)
    add(r, "GET", "/ws/assistance/{id}/", channels.assistance_channel)
    # API description (issue 14): the OpenAPI document and Swagger UI
    add(r, "GET", "/api/schema/", docs.schema)
    add(r, "GET", "/api/docs/", docs.docs_page)
    add(r, "GET", "/api/docs/{asset}/", docs.docs_asset)
