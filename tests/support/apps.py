"""In-process app servers for tests: a real aiohttp server on a test port, over a real pool or
over one test transaction (TxPool), and the headers of a WebSocket upgrade."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

# The headers of a WebSocket upgrade, for asserting refusals as plain HTTP answers.
HANDSHAKE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


class TxPool:
    """A pool stand-in handing out one connection inside a test transaction, one user at a time."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def acquire(self, *, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        # A savepoint per use: a statement that fails (an expected 409, say) rolls back only its
        # own work, as it would on a fresh pooled connection, and the test transaction lives on.
        async with self._lock, self._conn.transaction():
            yield self._conn

    async def fetchval(self, *args: Any, **kw: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(*args, **kw)

    async def fetchrow(self, *args: Any, **kw: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchrow(*args, **kw)

    async def fetch(self, *args: Any, **kw: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetch(*args, **kw)

    async def execute(self, *args: Any, **kw: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.execute(*args, **kw)

    async def close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[TestClient[Any, Any]]:
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
