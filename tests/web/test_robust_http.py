"""Robustness over real HTTP (issue 14): ids, query bounds, JSON depth, body deadline, tokens,
the Server header and positions of finished jobs."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import pkgutil
import time

import jwt
import pydantic
import pytest
from yarl import URL

import api.schemas
from api.app import create_app
from dispatch.accounts.tokens import ALGORITHM
from dispatch.core.ids import parse_id
from tests.support.apps import TxPool, serve
from tests.support.assist import PICKUP, call, job_in_state
from tests.support.factories import auth_header, create_user

# Superscript two, Arabic-Indic one, fullwidth one: all digits to str.isdigit() and int().
UNICODE_DIGITS = ["%C2%B2", "%D9%A1", "%EF%BC%91", "1%D9%A1"]


def test_only_ascii_digits_are_ids():
    assert parse_id("42") == 42
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
    for raw in [
        "\u00b2",
        "\u0661",
        "\uff11",
        "4\u00b2",
        "",
        "0",
        "-1",
        "+1",
        " 1",
        str(2**63),
        "1" * 30,
        None,
        7,
    ]:
        assert parse_id(raw) is None, raw


@pytest.mark.parametrize("raw", UNICODE_DIGITS)
@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("client", "GET", "/api/assistance/view/{}/", None),
        ("assistant", "PATCH", "/api/assistance/accept/{}/", None),
        ("client", "PATCH", "/api/assistance/update/{}/", {"status": "canceled"}),
        ("client", "PATCH", "/api/assistance/update/status/{}/", {"status": "canceled"}),
        ("client", "POST", "/api/assistance/rate/{}/", {"rating": 5}),
    ],
)
async def test_unicode_digit_ids_are_not_found(
    client, conn, settings, raw, role, method, path, body
):
    user = await create_user(conn, role=role)
    # Request 1 may exist in this database: an Arabic-Indic one must not reach it.
    resp = await client.request(
        method, URL(path.format(raw), encoded=True), json=body, headers=auth_header(settings, user)
    )
    assert resp.status == 404, await resp.text()
    assert (await resp.json())["code"] == "ASSISTANCE_NOT_FOUND"


async def test_offset_beyond_int32_is_400(client, conn, settings):
    user = await create_user(conn)
    for offset in ["2147483648", "99999999999999999999999", "-1", "\u00b2"]:
        status, body = await call(
            client, settings, user, "GET", f"/api/assistance/view/?offset={offset}"
        )
        assert status == 400, (offset, body)
        assert "offset" in body["fields"]
    status, _ = await call(client, settings, user, "GET", "/api/assistance/view/?offset=1000000")
    assert status == 200


def _query_models() -> list[type[pydantic.BaseModel]]:
    """Every query-string schema (a model named *Query) of every module of api.schemas."""
    models = []
    for info in pkgutil.iter_modules(api.schemas.__path__):
        module = importlib.import_module(f"api.schemas.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, pydantic.BaseModel)
                and value.__name__.endswith("Query")
            ):
                models.append(value)
    return sorted(set(models), key=lambda m: m.__name__)


@pytest.mark.parametrize("model", _query_models(), ids=lambda m: m.__name__)
def test_every_numeric_query_parameter_is_bounded(model):
    """Query strings reach SQL as int/float parameters: each needs both bounds (int32 overflow
    was a 500). A new query schema with an unbounded number fails here."""
    for name, prop in model.model_json_schema()["properties"].items():
        for schema in prop.get("anyOf", [prop]):
            if schema.get("type") in ("integer", "number"):
                assert {"minimum", "exclusiveMinimum"} & schema.keys(), f"{name}: no lower bound"
                assert {"maximum", "exclusiveMaximum"} & schema.keys(), f"{name}: no upper bound"


def _nested(depth: int, leaf: object = 1) -> object:
    value: object = leaf
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [40, 500, 1000])
async def test_deep_json_is_400_without_a_traceback(client, depth, caplog):
    with caplog.at_level(logging.ERROR):
        raw = '{"name": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"
        resp = await client.post(
            "/api/auth/register/", data=raw, headers={"Content-Type": "application/json"}
        )
        assert resp.status == 400
        assert (await resp.json())["code"] == "INVALID_JSON"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_nul_deep_inside_a_body_is_found_without_recursion(client, conn, settings):
    user = await create_user(conn)
    body = {"pickup": PICKUP, "description": _nested(30, "a\x00b")}
    status, reply = await call(client, settings, user, "POST", "/api/assistance/request/", body)
    assert status == 400 and reply["fields"] == {
        "description": ["Must not contain NUL characters."]
    }


@pytest.fixture
async def slow_body_client(settings, conn):
    quick = dataclasses.replace(settings, http=dataclasses.replace(settings.http, body_timeout=1.0))
    async with serve(create_app(quick, db_url="unused", pool=TxPool(conn))) as c:  # type: ignore[arg-type]
        yield c


async def test_a_dripping_body_is_timed_out(slow_body_client):
    server = slow_body_client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /api/auth/register/ HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    await writer.drain()
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(65536), 30)
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"Connection: close" in answer
    assert waited < 20  # 1 s setting; generous for a loaded machine
    answer += await asyncio.wait_for(reader.read(), 30)  # then closed (after aiohttp's linger)
    writer.close()
    assert b'"REQUEST_TIMEOUT"' in answer


async def test_a_prompt_body_is_unaffected(slow_body_client):
    resp = await slow_body_client.post("/api/auth/register/", json={})
    assert resp.status == 400  # validation, not a timeout


def _token(settings, **claims: object) -> str:
    base = {"sub": "1", "role": "client", "typ": "access", "jti": "x", "iat": int(time.time())}
    base["iss"] = settings.auth.issuer
    base.update(claims)
    return jwt.encode(
        {k: v for k, v in base.items() if v is not None}, settings.auth.secret(), ALGORITHM
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": None},  # no expiry: would be valid forever
        {"sub": str(10**30), "exp": "in ten minutes"},
        {"sub": "\u0661", "exp": "in ten minutes"},
    ],
    ids=["no-exp", "huge-sub", "unicode-sub"],
)
async def test_tokens_need_exp_and_a_bigint_subject(client, conn, settings, claims):
    user = await create_user(conn)
    claims = {"sub": str(user.id), **claims}
    if claims["exp"] == "in ten minutes":  # from now, not from collection: a suite can be long
        claims["exp"] = int(time.time()) + 600
    token = _token(settings, **claims)
    resp = await client.get("/api/profile/user/", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401
    assert (await resp.json())["code"] == "TOKEN_INVALID"
    resp = await client.get(f"/ws/assistant/{user.id}/?token={token}")
    assert resp.status == 401


async def test_server_header_names_no_versions(client):
    resp = await client.get("/api/health/")
    assert resp.headers["Server"] == "dispatch"
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"GET /api/health/\xff HTTP/1.1\r\nHost: t\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    assert b"aiohttp" not in answer and b"Python" not in answer


@pytest.mark.parametrize(
    ("state", "visible"),
    [("accepted", True), ("ongoing", True), ("completed", False), ("canceled", False)],
)
async def test_assistant_position_only_while_the_job_is_live(
    client, conn, settings, state, visible
):
    job = await job_in_state(client, settings, conn, state)
    status, body = await call(
        client, settings, job.client, "GET", f"/api/assistance/view/{job.id}/"
    )
    assert status == 200
    assistant = body["Assistance"]["assistant"]
    assert assistant["id"] == job.assistant.id
    assert (assistant["lat"] is not None) is visible
    assert (assistant["lng"] is not None) is visible
    status, body = await call(client, settings, job.client, "GET", "/api/assistance/view/")
    (item,) = [i for i in body["Assistance"] if i["id"] == job.id]
    assert (item["assistant"]["lat"] is not None) is visible
