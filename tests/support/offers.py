"""Helpers for the offer-round tests against a real server: the server process, its settings,
and WebSocket feeds read with predicates."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import asyncpg

from dispatch.runtime.testdb import clone_database, drop_database
from tests.support.factories import User, token_of
from tests.support.servers import free_port, spawn, stop, wait_healthy

# Two assistants per round, 3 s rounds, 3 rounds: a silent search is exhausted after ~9 s.
SETTINGS = {
    "matching_max_results": 2,
    "matching_radius_m": 10_000,
    "offer_radius_growth": 1.5,
    "offer_timeout_s": 3,
    "offer_max_rounds": 3,
}


class Server:
    """`dispatch serve --workers 2` on a database, started and stopped (and restarted) by the test."""

    def __init__(self, db_url: str) -> None:
        self._db_url = db_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = spawn(self._db_url, port=self.port, workers=2).proc
        try:
            wait_healthy(self.base, timeout=60, proc=self._proc)  # a loaded machine is slow
        except AssertionError:
            self.stop()
            raise
        time.sleep(1)  # both workers up and listening

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    def kill(self) -> None:
        """A crash: SIGKILL to the supervisor and its workers at once (nothing shuts down)."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._proc = None


@contextlib.contextmanager
def served_city(
    template_url: str, name: str, setup: Callable[[str], Awaitable[None]]
) -> Iterator[tuple[str, Server]]:
    """A copy of the template database set up by `setup`, with `dispatch serve --workers 2` on
    it, for a module's scenarios (each plays in its own area); both go afterwards."""
    url = asyncio.run(clone_database(template_url, name))
    asyncio.run(setup(url))
    server = Server(url)
    server.start()
    try:
        yield url, server
    finally:
        server.stop()
        asyncio.run(drop_database(url))


async def configure(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for key, value in SETTINGS.items():
            await conn.execute(
                "UPDATE dispatch.settings SET value = to_jsonb($2::numeric) WHERE key = $1",
                key,
                value,
            )
    finally:
        await conn.close()


class Feed:
    """Every frame of one WebSocket, kept in order, read with a predicate and a timeout."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._seen = 0

    async def until(self, pred, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames[self._seen :]:
                self._seen += 1
                if pred(frame):
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame; got {self.frames}")
            msg = await self.ws.receive(timeout=left)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            self.frames.append(msg.json())

    async def drain(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                msg = await self.ws.receive(timeout=seconds)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                self.frames.append(msg.json())

    def offers(self, job_id: int) -> list[dict[str, Any]]:
        return [
            f
            for f in self.frames
            if f["type"] == "new_assistance_request" and f["assistance_id"] == job_id
        ]


async def open_feeds(session, base, settings, users: list[User]) -> list[Feed]:
    feeds = []
    for u in users:
        ws = await session.ws_connect(f"{base}/ws/assistant/{u.id}/?token={token_of(settings, u)}")
        feed = Feed(ws)
        await feed.until(lambda f: f["type"] == "connection_established")
        feeds.append(feed)
    return feeds


def offer_of(job_id: int, round_: int):
    return lambda f: (
        f["type"] == "new_assistance_request"
        and f["assistance_id"] == job_id
        and f["offer_round"] == round_
    )


def withdrawn(job_id: int, reason: str):
    return lambda f: (
        f["type"] == "offer_withdrawn" and f["assistance_id"] == job_id and f["reason"] == reason
    )
