"""Road graph fixtures: a template database holding the Monaco graph, imported once a session
(© OpenStreetMap contributors, ODbL), and throwaway copies of it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import asyncpg
import pytest

from dispatch.core import db
from dispatch.roads.extracts import fetch
from dispatch.roads.importer import import_file
from dispatch.runtime.testdb import clone_database, drop_database

_numbers = itertools.count()


async def _import_monaco(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await db.init_connection(conn)
        await import_file(conn, fetch("monaco"), name="monaco")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def monaco_template(template_url: str) -> Iterator[str]:
    """The migrated template plus the Monaco car graph (fetched once into .dispatch/osm/)."""
    url = asyncio.run(clone_database(template_url, "dispatch_monaco_template"))
    asyncio.run(_import_monaco(url))
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
def monaco(monaco_template: str) -> Iterator[str]:
    """A fresh database with the Monaco graph, for tests that commit."""
    url = asyncio.run(clone_database(monaco_template, f"dispatch_monaco_{next(_numbers)}"))
    yield url
    asyncio.run(drop_database(url))
