"""Shared fixtures: a migrated test database, per-test rolled-back transactions, real app clients."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.app import create_app
from dispatch.core import db
from dispatch.core.config import Settings
from dispatch.runtime.testdb import clone_database, drop_database, prepare_test_database
from tests.support.apps import TxPool, serve


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def test_databases(settings: Settings) -> tuple[str, str]:
    """(template URL, test database URL), created and migrated once per session."""
    return asyncio.run(prepare_test_database(settings))


@pytest.fixture(scope="session")
def template_url(test_databases: tuple[str, str]) -> str:
    return test_databases[0]


@pytest.fixture(scope="session")
def db_url(test_databases: tuple[str, str]) -> str:
    return test_databases[1]


@pytest.fixture(scope="session")
async def pool(settings: Settings, db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(settings.db, db_url)
    yield p
    await p.close()


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with pool.acquire() as c:
        tx = c.transaction()
        await tx.start()
        try:
            yield c
        finally:
            await tx.rollback()


@pytest.fixture
async def client(
    settings: Settings, conn: asyncpg.Connection
) -> AsyncIterator[TestClient[Any, Any]]:
    """The real app over real HTTP, its database work inside the test's rolled-back transaction."""
    app = create_app(settings, db_url="unused", pool=TxPool(conn))  # type: ignore[arg-type]
    async with serve(app) as c:
        yield c


_clone_numbers = itertools.count()


@pytest.fixture
def throwaway_db(template_url: str) -> Iterator[str]:
    """A fresh migrated database for tests that need real commits (races, NOTIFY, outages)."""
    url = asyncio.run(clone_database(template_url, f"dispatch_tmp_{next(_clone_numbers)}"))
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
async def two_apps(
    settings: Settings, throwaway_db: str
) -> AsyncIterator[tuple[TestClient[Any, Any], TestClient[Any, Any], asyncpg.Connection]]:
    """Two app instances (as two server processes would be) on one throwaway database, both
    listening for events, plus an autocommit connection to it for setting up data."""
    from api.keys import BUS

    conn = await asyncpg.connect(throwaway_db)
    await db.init_connection(conn)
    try:
        async with (
            serve(create_app(settings, db_url=throwaway_db)) as a,
            serve(create_app(settings, db_url=throwaway_db)) as b,
        ):
            for c in (a, b):
                await asyncio.wait_for(c.app[BUS].connected.wait(), 5)
            yield a, b, conn
    finally:
        await conn.close()


@pytest.fixture
async def committed(throwaway_db: str) -> AsyncIterator[asyncpg.Connection]:
    """An autocommit connection to the throwaway database, for setting up shared data."""
    conn = await asyncpg.connect(throwaway_db)
    await db.init_connection(conn)
    yield conn
    await conn.close()


@pytest.fixture
async def live(settings: Settings, throwaway_db: str) -> AsyncIterator[TestClient[Any, Any]]:
    """The real app over HTTP with its own pool, big enough for a race's every request at once."""
    big = dataclasses.replace(
        settings, db=dataclasses.replace(settings.db, pool_min=1, pool_max=32)
    )
    async with serve(create_app(big, db_url=throwaway_db)) as client:
        yield client


@pytest.fixture
async def rt(
    settings: Settings, throwaway_db: str, committed: asyncpg.Connection
) -> AsyncIterator[tuple[TestClient[Any, Any], asyncpg.Connection]]:
    """A real app with its own pool on a throwaway database, its event listener connected (events
    need real commits), and an autocommit connection to the same database."""
    from api.keys import BUS

    async with serve(create_app(settings, db_url=throwaway_db)) as client:
        await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
        yield client, committed
