"""The one error shape: unknown route, wrong method, bad JSON, too large, unexpected exception."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from aiohttp import web

from api.app import create_app
from api.responses import json_response, read_json
from tests.support.apps import TxPool, serve


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) <= {"error", "code", "fields"}
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]


@pytest.fixture
async def probe_client(settings, conn):
    """The real app plus two probe routes: one echoing a JSON body, one that crashes."""
    small = dataclasses.replace(
        settings, http=dataclasses.replace(settings.http, max_body_bytes=1024)
    )
    app = create_app(small, db_url="unused", pool=TxPool(conn))

    async def echo(request: web.Request) -> web.Response:
        return json_response(await read_json(request))

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("secret-internal-detail password=hunter2")

    app.router.add_post("/api/_probe/echo/", echo)
    app.router.add_get("/api/_probe/crash/", crash)
    async with serve(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/api/nope/", "/api/nope", "/", "/api/health/extra/"])
async def test_unknown_route_is_404(client, path):
    resp = await client.get(path)
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert_error_shape(await resp.json(), "NOT_FOUND")


@pytest.mark.parametrize("path", ["/api/health/", "/api/health"])
async def test_wrong_method_is_405(client, path):
    resp = await client.delete(path)
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert_error_shape(await resp.json(), "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
async def test_malformed_json_is_400(probe_client, body):
    resp = await probe_client.post("/api/_probe/echo/", data=body)
    assert resp.status == 400
    assert_error_shape(await resp.json(), "INVALID_JSON")


async def test_valid_json_passes(probe_client):
    resp = await probe_client.post("/api/_probe/echo/", json={"a": 1})
    assert resp.status == 200
    assert await resp.json() == {"a": 1}


async def test_body_over_limit_is_413(probe_client):
    resp = await probe_client.post("/api/_probe/echo/", data=b'{"a": "' + b"x" * 2000 + b'"}')
    assert resp.status == 413
    assert_error_shape(await resp.json(), "PAYLOAD_TOO_LARGE")


async def test_unexpected_exception_is_generic_500(probe_client, caplog):
    with caplog.at_level(logging.ERROR):
        resp = await probe_client.get("/api/_probe/crash/")
    assert resp.status == 500
    text = await resp.text()
    assert "secret" not in text and "hunter2" not in text and "Traceback" not in text
    assert_error_shape(await resp.json(), "INTERNAL_ERROR")
    assert "secret-internal-detail" in caplog.text  # the details go to the log only


async def test_no_redirect_for_missing_slash(client):
    resp = await client.get("/api/health", allow_redirects=False)
    assert resp.status == 200
