"""Load and counting helpers for the event-delivery fault tests: real sockets, real requests.

Assistants hold sockets that reconnect with `?since=` whenever they drop; clients make requests;
at the end every committed offer (a row of dispatch.events) must have reached its assistant's
socket exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

import aiohttp
import asyncpg

from dispatch.core.config import Settings
from dispatch.events.listener import LISTENER_NAME
from tests.support.assist import PICKUP
from tests.support.factories import User, auth_header, create_user, token_of


async def kill_listeners(conn: asyncpg.Connection) -> int:
    """Terminate every event listener's connection to this database; how many there were."""
    return int(
        await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            LISTENER_NAME,
        )
    )


async def make_people(
    conn: asyncpg.Connection, *, assistants: int, clients: int
) -> tuple[list[User], list[User]]:
    """Active assistants close to PICKUP (all matched by every request) and idle clients."""
    near = [
        await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.001 * i, lng=PICKUP["lng"]
        )
        for i in range(1, assistants + 1)
    ]
    return near, [await create_user(conn, role="client") for _ in range(clients)]


@dataclass
class Follower:
    """One assistant's channel, held open across outages: on any drop it reconnects (to the next
    base URL) with `?since=` the last seq it received."""

    settings: Settings
    user: User
    bases: list[str]
    start_seq: int = 0  # the first connection replays from here: nothing is missed before it
    reconnect: bool = True
    offers: list[int] = field(default_factory=list)  # assistance ids, in arrival order
    seqs: list[int] = field(default_factory=list)
    reconnects: int = 0
    closes: list[int | None] = field(default_factory=list)  # close codes seen
    _stop: bool = False
    _task: asyncio.Task[None] | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, session: aiohttp.ClientSession) -> None:
        self._task = asyncio.create_task(self._run(session))

    async def stop(self) -> None:
        self._stop = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, session: aiohttp.ClientSession) -> None:
        bases = itertools.cycle(self.bases)
        base = next(bases)
        while not self._stop:
            since = f"&since={self.seqs[-1] if self.seqs else self.start_seq}"
            url = f"{base}/ws/assistant/{self.user.id}/?token={token_of(self.settings, self.user)}"
            try:
                async with session.ws_connect(url + since, heartbeat=None) as ws:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        frame = msg.json()
                        if frame["type"] == "connection_established":
                            self.connected.set()
                        if "seq" in frame:
                            self.seqs.append(frame["seq"])
                        if frame["type"] == "new_assistance_request":
                            self.offers.append(frame["assistance_id"])
                    self.closes.append(ws.close_code)
            except (aiohttp.ClientError, OSError):
                pass
            self.connected.clear()
            if self._stop or not self.reconnect:
                return
            self.reconnects += 1
            base = next(bases)
            await asyncio.sleep(0.05)


async def request_once(
    session: aiohttp.ClientSession, settings: Settings, base: str, client: User
) -> int | None:
    """POST a request as `client`; its status, or None when the server could not be reached."""
    try:
        async with session.post(
            f"{base}/api/assistance/request/",
            json={"pickup": PICKUP},
            headers=auth_header(settings, client),
            timeout=aiohttp.ClientTimeout(total=15),
        ) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None


async def committed_offers(conn: asyncpg.Connection, user: User) -> list[int]:
    """The offers committed for `user`, from the event log (the source of truth)."""
    rows = await conn.fetch(
        "SELECT (message->>'assistance_id')::bigint AS id FROM dispatch.events "
        "WHERE topic = $1 AND message->>'type' = 'new_assistance_request' ORDER BY batch_id, position",
        f"assistant:{user.id}",
    )
    return [r["id"] for r in rows]


async def settle(conn: asyncpg.Connection, followers: list[Follower], within: float = 20) -> None:
    """Wait until every follower holds every committed offer (or the time is up)."""
    for _ in range(int(within / 0.1)):
        done = True
        for f in followers:
            done = done and sorted(f.offers) == sorted(await committed_offers(conn, f.user))
        if done:
            return
        await asyncio.sleep(0.1)


async def assert_nothing_lost(conn: asyncpg.Connection, followers: list[Follower]) -> int:
    """Each committed offer reached its socket exactly once, in seq order; returns the count."""
    total = 0
    for f in followers:
        expected = await committed_offers(conn, f.user)
        assert sorted(f.offers) == sorted(expected), (f.user.id, f.offers, expected)
        assert f.seqs == sorted(set(f.seqs)), "a seq arrived twice or out of order"
        total += len(expected)
    return total


async def last_seq(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT last_seq FROM dispatch.event_cursor"))
