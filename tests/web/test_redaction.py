"""Tokens in what the server writes back and logs (issue 23, D12): aiohttp's own parser errors
answer in the error shape without echoing the input, and the access log redacts a JWT in a path."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.support.servers import node

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.c2VjcmV0LXNpZ25hdHVyZQ"
PIECES = ("eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJTRUNSRVQifQ", "c2VjcmV0LXNpZ25hdHVyZQ")

MALFORMED = {
    "control byte in a header value": (
        f"GET /api/profile/user/ HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {SECRET}\x01\r\n\r\n"
    ).encode(),
    "space in a header name": (
        f"GET /api/profile/user/ HTTP/1.1\r\nHost: t\r\nBad Name: Bearer {SECRET}\r\n\r\n"
    ).encode(),
    "bad byte in the request line": (
        f"GET /ws/assistant/1/?token={SECRET}\xff HTTP/1.1\r\nHost: t\r\n\r\n"
    ).encode("latin-1"),
}


def _split(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def _assert_bad_request(answer: bytes) -> None:
    status, headers, body = _split(answer)
    assert status.split(" ")[1] == "400", answer[:300]
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"error": "The request is invalid.", "code": "BAD_REQUEST"}
    assert not any(piece.encode() in answer for piece in PIECES)


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_parser_errors_answer_the_error_shape_without_the_input(client, raw):
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)  # then closed
    writer.close()
    _assert_bad_request(answer)


def _raw(base: str, data: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_served_access_log_redacts_a_jwt_in_the_path(db_url, tmp_path):
    log = tmp_path / "server.log"
    with node(db_url, env={"DISPATCH_ACCESS_LOG": "1"}, log=log) as base:
        for path in (f"/api/vehicles/{SECRET}/", f"/api/vehicles/{SECRET}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=10)
            refused.value.close()
            assert refused.value.code == 401
        _assert_bad_request(_raw(base, MALFORMED["control byte in a header value"]))
    text = log.read_text(errors="replace")
    access = [json.loads(line) for line in text.splitlines() if '"dispatch.access"' in line]
    paths = {entry["path"] for entry in access}
    assert {"/api/vehicles/[redacted]/", "/api/vehicles/[redacted]"} <= paths, paths
    assert "Error handling request" in text  # aiohttp logged the malformed header ...
    assert not any(piece in text for piece in PIECES)  # ... and nothing logged the token
