"""Database access: the asyncpg pool, its per-connection codecs, and the Postgres error translation."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from dispatch.core.config import DatabaseSettings
from dispatch.core.errors import ServiceUnavailable, from_postgres

log = logging.getLogger(__name__)

# The connection broke (an outage, a restart, a failover): retryable, never the request's fault.
# InternalClientError: a connection caught mid-operation by a database restart.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
# What a background step may meet while the database restarts or fails over; it is retried at its
# next turn (the state lives in the database).
TRANSIENT: tuple[type[BaseException], ...] = (*CONNECTION_LOST, TimeoutError, asyncpg.PostgresError)


# Seconds a client is told to wait (Retry-After) when the database is unavailable: a failover of
# the HA formation takes ~10 s (docs/operations.md, "Failover"), a retry every 2 s finds it soon.
RETRY_AFTER_S = 2
UNAVAILABLE_HEADERS = {"Retry-After": str(RETRY_AFTER_S)}


def database_unavailable(exc: BaseException) -> bool:
    """An outage, not a bug: a broken connection, or a server refusing for now (class 08
    connection exceptions, 57P01-57P03 shutdowns, and 25006: a write reached a node that is no
    longer the primary, as in a switchover)."""
    if isinstance(exc, CONNECTION_LOST):
        return True
    sqlstate = getattr(exc, "sqlstate", "") or ""
    return isinstance(exc, asyncpg.PostgresConnectionError) or sqlstate.startswith(
        ("08", "57P0", "25006")
    )


def multi_host(url: str) -> bool:
    """A libpq URL naming several hosts (an HA formation: the client finds the primary)."""
    return len(host_urls(url)) > 1


def host_urls(url: str) -> list[str]:
    """One URL per host of a (multi-host) libpq URL, each with the same user, database and
    parameters."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    return [urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}")) for host in hosts.split(",")]


class PrimaryConnector:
    """asyncpg.connect for a multi-host URL, one host at a time with a timeout each, the host that
    answered last time first.

    asyncpg gives all the hosts of a URL one timeout together: a primary whose machine is gone
    (its packets dropped, not refused) would use it up before the next host is tried, and no
    connection would be made until the timeout. A host that is a standby (it fails
    `target_session_attrs=read-write`) or does not answer in time is skipped. A one-host URL goes
    to asyncpg as it is.
    """

    def __init__(self, url: str, *, per_host: float) -> None:
        self._url = url
        self._hosts = host_urls(url)
        self._per_host = per_host
        self._first = 0  # the index of the host that answered last

    async def __call__(self, dsn: str | None = None, **kwargs: Any) -> asyncpg.Connection:
        if len(self._hosts) == 1:
            return await asyncpg.connect(self._url, **kwargs)
        kwargs["timeout"] = self._per_host
        failure: BaseException | None = None
        for step in range(len(self._hosts)):
            index = (self._first + step) % len(self._hosts)
            try:
                conn = await asyncpg.connect(self._hosts[index], **kwargs)
            except (OSError, TimeoutError, asyncpg.InternalClientError) as exc:
                failure = exc  # refused, silent, or not the primary: the next host
                continue
            self._first = index
            return conn
        assert failure is not None
        raise failure


def _json_encode(value: Any) -> str:
    return orjson.dumps(value).decode()


def _geometry_encode(geom: BaseGeometry) -> bytes:
    if shapely.get_srid(geom) == 0:
        geom = shapely.set_srid(geom, 4326)
    return shapely.to_wkb(geom, include_srid=True)


def _geometry_decode(data: bytes) -> BaseGeometry:
    return shapely.from_wkb(data)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Register orjson for json/jsonb and shapely (WKB) for PostGIS geometry/geography."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=_json_encode, decoder=orjson.loads
        )
    postgis_schema = await conn.fetchval(
        "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.typname = 'geography'"
    )
    if postgis_schema:
        for typename in ("geometry", "geography"):
            await conn.set_type_codec(
                typename,
                schema=postgis_schema,
                encoder=_geometry_encode,
                decoder=_geometry_decode,
                format="binary",
            )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Connection reset on release: nothing beyond asyncpg's own rollback of an open transaction.

    The default reset runs four statements (RESET ALL, CLOSE ALL, UNLISTEN *, advisory unlock) on
    every release, several per request. The engine never leaves session state on a pooled
    connection: settings are SET LOCAL or function-level, advisory locks are transaction-scoped,
    LISTEN has its own connection (dispatch/events/listener.py).
    """


async def create_pool(settings: DatabaseSettings, url: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url,
        connect=PrimaryConnector(url, per_host=settings.connect_timeout),
        min_size=settings.pool_min,
        max_size=max(settings.pool_max, settings.pool_min, 1),
        command_timeout=settings.command_timeout,
        init=init_connection,
        reset=_keep_session,
        server_settings={"application_name": "dispatch"},
    )
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Turn Postgres errors the project knows (SQLSTATEs, named constraints) into client errors."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        known = from_postgres(exc)
        if known is None:
            raise
        raise known from exc


@contextlib.asynccontextmanager
async def acquire(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection; failing to get one (the database is down or refusing) is a 503."""
    entered = False
    try:
        async with pool.acquire() as conn:
            entered = True
            yield conn
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if entered:
            raise
        log.warning("no database connection: %s", type(exc).__name__)
        raise ServiceUnavailable(
            "The service is temporarily unavailable; try again shortly.",
            code="DATABASE_UNAVAILABLE",
            headers=UNAVAILABLE_HEADERS,
        ) from exc


@contextlib.asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside a transaction, with known Postgres errors translated."""
    async with translated(), acquire(pool) as conn, conn.transaction():
        yield conn


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection held only for the block, with known Postgres errors translated."""
    async with translated(), acquire(pool) as conn:
        yield conn
