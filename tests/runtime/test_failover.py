"""The database dies under load (issue 27): a pg_auto_failover formation, `serve --workers 2` against
its multi-host URL, clients and assistants on sockets; the primary's node is SIGKILLed, then a
planned switchover. Counted: acknowledged writes lost, events undelivered or twice, 5xx other than
503, the time until a new request succeeds, and the old primary back as a standby."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from dispatch.core.config import Settings
from dispatch.core.db import init_connection
from dispatch.runtime import ha
from dispatch.runtime.migrate import migrate_url
from tests.support.assist import PICKUP
from tests.support.factories import User, auth_header
from tests.support.load import Follower, assert_nothing_lost, last_seq, make_people, settle
from tests.support.servers import healthy, spawn, stop

pytestmark = pytest.mark.skipif(
    shutil.which("pg_autoctl") is None,
    reason="pg_auto_failover is missing (postgresql-15-auto-failover, pg-auto-failover-cli: "
    "`make test` installs them through scripts/ensure-system.sh)",
)

CLIENTS = 10  # each makes a request and cancels it, about once a second: ~20 requests/s
ASSISTANTS = 6
BACK_WITHIN_S = 30.0
# Figures of each run, appended as JSON lines when set (docs/operations.md quotes their medians).
REPORT = os.environ.get("DISPATCH_FAILOVER_REPORT")


@pytest.fixture(scope="module")
def formation(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ha.Formation]:
    """A monitor, a primary and two standbys of this test's own, migrated; removed after."""
    f = ha.formation(settings.db, home=tmp_path_factory.mktemp("ha"))
    try:
        url = f.start(standbys=2)
        asyncio.run(migrate_url(url, Path(settings.db.sql_dir)))
        yield f
    finally:
        f.stop(purge=True)


@dataclass
class Load:
    """Clients making requests (retried with their Idempotency-Key until answered) and cancelling
    them; every answer's status is counted, every acknowledged request id kept."""

    settings: Settings
    base: str
    clients: list[User]
    statuses: Counter[int | None] = field(default_factory=Counter)
    acked: set[int] = field(default_factory=set)
    keys: itertools.count[int] = field(default_factory=itertools.count)
    # Ends of requests begun after `since` (monotonic) that succeeded: the service is back.
    since: float | None = None
    back_at: float | None = None
    unavailable: list[float] = field(default_factory=list)  # when each 503 came
    stopping: bool = False

    async def _call(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        user: User,
        body: dict,
        headers: dict[str, str] | None = None,
    ) -> tuple[int | None, dict]:
        begun = time.monotonic()
        try:
            async with session.request(
                method,
                f"{self.base}{path}",
                json=body,
                headers={**auth_header(self.settings, user), **(headers or {})},
                timeout=aiohttp.ClientTimeout(total=20),
            ) as resp:
                status, body = resp.status, await resp.json()
                if status == 503:
                    self.unavailable.append(time.monotonic())
                    assert body["code"] == "DATABASE_UNAVAILABLE", body
                    assert resp.headers["Retry-After"], resp.headers
        except (aiohttp.ClientError, OSError, TimeoutError):
            status, body = None, {}
        self.statuses[status] += 1
        if status in (200, 201) and self.since is not None and begun > self.since:
            self.back_at = self.back_at or time.monotonic()
        return status, body

    async def _client(self, session: aiohttp.ClientSession, user: User) -> None:
        while not self.stopping:
            started = time.monotonic()
            key = f"k{next(self.keys)}"
            job = None
            while job is None:  # the same key until answered: one request, however many tries
                status, body = await self._call(
                    session,
                    "POST",
                    "/api/assistance/request/",
                    user,
                    {"pickup": PICKUP},
                    {"Idempotency-Key": key},
                )
                if status in (200, 201):
                    job = body["assistance"]["id"]
                    self.acked.add(job)
                else:
                    assert status in (None, 503), (status, body)
                    await asyncio.sleep(0.25)
            while True:  # cancelled (409: an earlier try did it), so the client may ask again
                status, body = await self._call(
                    session,
                    "PATCH",
                    f"/api/assistance/update/{job}/",
                    user,
                    {"status": "canceled"},
                )
                if status in (200, 409):
                    break
                assert status in (None, 503), (status, body)
                await asyncio.sleep(0.25)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    async def run(self, seconds: float, event: Callable[[], Awaitable[None]]) -> None:
        """Run for `seconds`; `event` (a coroutine function) is awaited 4 s in, concurrently."""
        self.stopping = False
        self.statuses.clear()
        self.unavailable.clear()
        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(self._client(session, c)) for c in self.clients]
            await asyncio.sleep(4)
            self.since = time.monotonic()
            self.back_at = None
            await event()
            await asyncio.sleep(max(0.0, seconds - 4 - (time.monotonic() - self.since)))
            self.stopping = True
            async with asyncio.timeout(60):
                await asyncio.gather(*tasks)
            for task in tasks:
                task.result()


def _window(times: list[float]) -> float:
    """Seconds from the first 503 to the last (0 without any)."""
    return round(max(times) - min(times), 1) if times else 0.0


async def _connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    return conn


async def _check_writes(url: str, load: Load) -> tuple[int, int]:
    """(acknowledged requests missing, idempotency keys used twice), on the current primary."""
    conn = await _connect(url)
    try:
        present = await conn.fetchval(
            "SELECT count(*) FROM dispatch.assistance_requests WHERE id = ANY($1::bigint[])",
            sorted(load.acked),
        )
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM dispatch.assistance_requests "
            "WHERE idempotency_key IS NOT NULL GROUP BY client_id, idempotency_key "
            "HAVING count(*) > 1) d"
        )
        return len(load.acked) - int(present), int(twice)
    finally:
        await conn.close()


async def test_the_engine_rides_through_a_killed_primary_and_a_switchover(
    settings: Settings, formation: ha.Formation, tmp_path: Path
) -> None:
    url = formation.url()
    conn = await _connect(url)
    assistants, clients = await make_people(conn, assistants=ASSISTANTS, clients=CLIENTS)
    start_seq = await last_seq(conn)
    await conn.close()
    log = tmp_path / "server.log"
    with log.open("wb") as err:
        server = spawn(url, workers=2, stderr=err, env={"DISPATCH_DB_POOL_MAX": "8"})
    figures: dict[str, object] = {}
    try:
        await healthy(server.base, listener=True)
        followers = [Follower(settings, a, [server.base], start_seq=start_seq) for a in assistants]
        async with asyncio.timeout(300), aiohttp.ClientSession() as session:
            for f in followers:
                f.start(session)
            for f in followers:
                await asyncio.wait_for(f.connected.wait(), 30)
            load = Load(settings, server.base, clients)

            # 1. The primary's machine dies: its pg_autoctl and its postmaster, SIGKILLed.
            victim = formation.primary()
            assert victim is not None
            health_seen: set[str] = set()

            async def crash() -> None:
                formation.crash(victim)

            async def watch_health() -> None:
                async with aiohttp.ClientSession() as probe:
                    while not load.stopping:
                        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                            async with probe.get(f"{server.base}/api/health/") as resp:
                                health_seen.add((await resp.json())["database"])
                        await asyncio.sleep(0.2)

            watcher = asyncio.create_task(watch_health())
            await load.run(20, crash)
            await watcher
            assert load.back_at is not None and load.since is not None, load.statuses
            back_s = load.back_at - load.since
            kill_statuses = dict(load.statuses)
            kill_window_s = _window(load.unavailable)
            lost, twice = await _check_writes(url, load)
            assert lost == 0 and twice == 0, (lost, twice)
            assert back_s <= BACK_WITHIN_S, back_s
            assert set(kill_statuses) <= {200, 201, 409, 503}, kill_statuses
            assert "failing_over" in health_seen, health_seen

            # The machine comes back: its node rejoins as a standby (pg_rewind to the new timeline).
            rejoin_started = time.monotonic()
            await asyncio.to_thread(formation.start, 2)
            states = {n["nodename"]: n["current_group_state"] for n in formation.wait_settled()}
            rejoin_s = time.monotonic() - rejoin_started
            assert states[victim] == "secondary", states

            # 2. A planned switchover under the same load.
            before = formation.primary()

            switch_s = 0.0

            async def switch() -> None:
                nonlocal switch_s
                began = time.monotonic()
                await asyncio.to_thread(formation.switchover)
                switch_s = time.monotonic() - began

            await load.run(14, switch)
            switch_statuses = dict(load.statuses)
            switch_window_s = _window(load.unavailable)
            assert formation.primary() != before
            assert set(switch_statuses) <= {200, 201, 409, 503}, switch_statuses

            lost, twice = await _check_writes(url, load)
            assert lost == 0 and twice == 0, (lost, twice)
            conn = await _connect(url)
            try:
                await settle(conn, followers, within=30)
                delivered = await assert_nothing_lost(conn, followers)
            finally:
                await conn.close()
            for f in followers:
                await f.stop()
        figures = {
            "acknowledged": len(load.acked),
            "lost": 0,
            "duplicates": 0,
            "events_delivered": delivered,
            "kill_back_s": round(back_s, 1),
            "kill_statuses": kill_statuses,
            "kill_503_window_s": kill_window_s,
            "rejoin_s": round(rejoin_s, 1),
            "switchover_s": round(switch_s, 1),
            "switchover_statuses": switch_statuses,
            "switchover_503_window_s": switch_window_s,
            "socket_reconnects": sum(f.reconnects for f in followers),
        }
        print("failover figures:", json.dumps(figures, default=str))
        if REPORT:
            with open(REPORT, "a") as out:
                out.write(json.dumps(figures, default=str) + "\n")
    finally:
        stop(server.proc, timeout=60)
