"""WebSocket helpers: a channel's URL with a token, and reading frames by type, until a close, or for
a while."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from tests.support.factories import token_of


def ws_url(settings: Any, path: str, user: Any) -> str:
    """`path` with the user's access token as `?token=`."""
    return f"{path}?token={token_of(settings, user)}"


async def next_json(ws: Any, timeout: float = 5.0) -> dict:
    """The next frame, which must be JSON text."""
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return msg.json()


async def next_of_type(ws: Any, kind: str, timeout: float = 5.0) -> dict:
    """The next frame of type `kind` within `timeout`, skipping others (positions and the like)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await next_json(ws, max(0.01, deadline - time.monotonic()))
        if frame.get("type") == kind:
            return frame


async def frames_until_closed(ws: Any, timeout: float = 5.0) -> tuple[list[dict], int | None]:
    """Every frame a socket gets until the server closes it, and the close code."""
    got = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            got.append(msg.json())
        elif msg.type == aiohttp.WSMsgType.CLOSE:
            # The code the server's close frame carries (the server may drop the connection
            # before the client's reply is written, which leaves ws.close_code at 1006).
            return got, msg.data
        elif msg.type == aiohttp.WSMsgType.CLOSED:
            return got, ws.close_code


async def frames_within(ws: Any, seconds: float) -> list[dict]:
    """The frames a socket gets in the next `seconds` (fewer if it closes)."""
    got = []
    try:
        while True:
            msg = await asyncio.wait_for(ws.receive(), seconds)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return got
            got.append(msg.json())
    except TimeoutError:
        return got
