"""Test databases: a migrated template beside the database in use, and clones of it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from dispatch.core.config import Settings
from dispatch.runtime.devdb import database_url
from dispatch.runtime.migrate import migrate_url


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(with_database(url, "postgres"))


async def drop_database(url: str) -> None:
    admin = await _admin(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
    finally:
        await admin.close()


async def clone_database(template_url: str, name: str) -> str:
    """A new database copied from a template (dropped first if it exists); returns its URL."""
    admin = await _admin(template_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for attempt in range(50):
            try:
                await admin.execute(
                    f'CREATE DATABASE "{name}" TEMPLATE "{database_name(template_url)}"'
                )
                break
            except asyncpg.ObjectInUseError:
                # A just-closed connection to the template may take a moment to go away.
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await admin.close()
    return with_database(template_url, name)


async def prepare_test_database(
    settings: Settings, *, extensions: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Re-create and migrate `<db>_test_tpl`, clone it to `<db>_test`; return both URLs."""
    main_url = database_url(settings.db)
    base = database_name(main_url)
    template = with_database(main_url, f"{base}_test_tpl")
    await drop_database(template)
    admin = await _admin(main_url)
    try:
        await admin.execute(f'CREATE DATABASE "{base}_test_tpl"')
    finally:
        await admin.close()
    await migrate_url(template, Path(settings.db.sql_dir))
    if extensions:
        conn = await asyncpg.connect(template)
        try:
            for ext in extensions:
                await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
        finally:
            await conn.close()
    return template, await clone_database(template, f"{base}_test")
