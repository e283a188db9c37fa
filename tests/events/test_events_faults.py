"""No committed event lost: the listener's connection killed, the database restarted, a server
process SIGKILLed, a server SIGTERMed under load. Real servers, real sockets, counted."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import signal
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from api.app import create_app
from api.keys import BUS
from dispatch.core.db import init_connection
from dispatch.runtime.devdb import Cluster
from dispatch.runtime.migrate import migrate_url
from tests.support.apps import serve
from tests.support.load import (
    Follower,
    assert_nothing_lost,
    kill_listeners,
    last_seq,
    make_people,
    request_once,
    settle,
)
from tests.support.servers import free_port, healthy, spawn, stop


def base_of(client) -> str:
    return str(client.server.make_url("")).rstrip("/")


async def start_followers(session, settings, conn, assistants, bases_for) -> list[Follower]:
    start = await last_seq(conn)
    followers = [
        Follower(settings, a, bases_for(i), start_seq=start) for i, a in enumerate(assistants)
    ]
    for f in followers:
        f.start(session)
    await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), 30)
    return followers


async def test_listener_connections_killed_mid_load_lose_nothing(settings, two_apps):
    a, b, conn = two_apps
    assistants, clients = await make_people(conn, assistants=6, clients=60)
    bases = [base_of(a), base_of(b)]
    connects = (a.app[BUS].connects, b.app[BUS].connects)
    async with aiohttp.ClientSession() as session:
        followers = await start_followers(
            session, settings, conn, assistants, lambda i: [bases[i % 2], bases[(i + 1) % 2]]
        )
        statuses = []
        for i, client in enumerate(clients):
            statuses.append(await request_once(session, settings, bases[i % 2], client))
            if i % 15 == 7:  # four times during the load: both processes' listeners at once
                killed = await kill_listeners(conn)
                assert killed == 2
            await asyncio.sleep(0.02)
        await settle(conn, followers)
        for f in followers:
            await f.stop()
    assert statuses.count(201) == len(clients)
    assert (a.app[BUS].connects, b.app[BUS].connects) >= (connects[0] + 4, connects[1] + 4)
    assert await assert_nothing_lost(conn, followers) == 6 * len(clients)
    assert all(f.reconnects == 0 for f in followers)  # the sockets never noticed


@pytest.fixture
def own_cluster(settings, tmp_path: Path):
    """A throwaway PostgreSQL cluster of this test's own, which it may restart."""
    c = Cluster(
        home=tmp_path / ".dispatch",
        settings=dataclasses.replace(settings.db, pg_port=free_port()),
    )
    c.up()
    yield c
    c.down()
    if c.link.is_symlink():
        shutil.rmtree(c.pg_dir, ignore_errors=True)


async def test_database_restarted_mid_load_loses_nothing(settings, own_cluster):
    url = own_cluster.url()
    await migrate_url(url, Path(settings.db.sql_dir))
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    assistants, clients = await make_people(conn, assistants=4, clients=50)
    await conn.close()
    statuses: list[int | None] = []
    async with (
        serve(create_app(settings, db_url=url)) as app,
        aiohttp.ClientSession() as session,
    ):
        await asyncio.wait_for(app.app[BUS].connected.wait(), 10)
        conn = await asyncpg.connect(url)
        followers = await start_followers(
            session, settings, conn, assistants, lambda i: [base_of(app)]
        )
        await conn.close()
        restart = None
        for i, client in enumerate(clients):
            if i == 15:
                # `pg_ctl restart -m fast` while requests keep coming.
                restart = asyncio.create_task(
                    asyncio.to_thread(
                        own_cluster._run,
                        own_cluster._bin("pg_ctl"),
                        "restart",
                        "-D",
                        str(own_cluster.data_dir),
                        "-l",  # the postmaster must not inherit the captured pipes
                        str(own_cluster.log_file),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "60",
                    )
                )
            status = await request_once(session, settings, base_of(app), client)
            statuses.append(status)
            await asyncio.sleep(0.05 if status == 201 else 0.2)
        assert restart is not None
        await restart
        conn = await asyncpg.connect(url)
        await init_connection(conn)
        try:
            await settle(conn, followers)
            for f in followers:
                await f.stop()
            delivered = await assert_nothing_lost(conn, followers)
        finally:
            await conn.close()
    assert statuses.count(201) >= 20  # before and after the restart
    assert delivered == len(assistants) * statuses.count(201)


async def test_a_server_process_killed_after_its_commits_loses_nothing(settings, throwaway_db):
    """Two server processes; one is SIGKILLed with requests in flight. Its committed events reach
    their sockets through the other, and its sockets come back there with `since`."""
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    assistants, clients = await make_people(conn, assistants=6, clients=60)
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    procs = [spawn(throwaway_db, port=p).proc for p in ports]
    try:
        async with aiohttp.ClientSession() as session:
            for base in bases:
                await healthy(base, listener=True)
            followers = await start_followers(
                session, settings, conn, assistants, lambda i: [bases[i % 2], bases[(i + 1) % 2]]
            )
            statuses: list[int | None] = []
            for i in range(0, 30, 2):  # a steady load on both
                statuses += await asyncio.gather(
                    request_once(session, settings, bases[0], clients[i]),
                    request_once(session, settings, bases[1], clients[i + 1]),
                )
            # A burst at the victim, killed while it is committing and answering.
            burst = [
                asyncio.create_task(request_once(session, settings, bases[1], c))
                for c in clients[30:45]
            ]
            await asyncio.sleep(0.15)
            procs[1].send_signal(signal.SIGKILL)
            procs[1].wait(timeout=10)
            statuses += await asyncio.gather(*burst)
            for c in clients[45:]:  # the survivor carries on
                statuses.append(await request_once(session, settings, bases[0], c))
            await settle(conn, followers)
            for f in followers:
                await f.stop()
        delivered = await assert_nothing_lost(conn, followers)
        committed = await conn.fetchval("SELECT count(*) FROM dispatch.assistance_requests")
        assert delivered == 6 * committed
        assert committed >= 45  # the steady load and the survivor's, at least
        assert sum(f.reconnects for f in followers) >= 3  # the victim's sockets came back
    finally:
        for p in procs:
            stop(p, sig=signal.SIGKILL)
        await conn.close()


async def test_sigterm_delivers_the_events_of_requests_in_flight_before_closing(
    settings, throwaway_db
):
    """`dispatch serve --workers 2` SIGTERMed under load: every committed request's offers reach
    the sockets (which do not reconnect) before they are closed with 1001."""
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    assistants, clients = await make_people(conn, assistants=6, clients=80)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = spawn(throwaway_db, port=port, workers=2).proc
    try:
        async with aiohttp.ClientSession() as session:
            await healthy(base, listener=True)
            await asyncio.sleep(1.0)  # both workers up
            start = await last_seq(conn)
            followers = [
                Follower(settings, a, [base], start_seq=start, reconnect=False) for a in assistants
            ]
            for f in followers:
                f.start(session)
            await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), 30)
            tasks = []
            for i, c in enumerate(clients):
                tasks.append(asyncio.create_task(request_once(session, settings, base, c)))
                if i == 40:
                    proc.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.01)
            statuses = await asyncio.gather(*tasks)
            assert proc.wait(timeout=30) == 0
            for f in followers:
                await asyncio.wait_for(f._task, 10)  # type: ignore[arg-type]
        committed = await conn.fetchval("SELECT count(*) FROM dispatch.assistance_requests")
        assert committed == statuses.count(201) and committed >= 20
        assert await assert_nothing_lost(conn, followers) == 6 * committed
        assert all(f.closes == [1001] for f in followers), [f.closes for f in followers]
    finally:
        stop(proc, sig=signal.SIGKILL)
        await conn.close()
