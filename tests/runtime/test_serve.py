"""`dispatch serve`: several worker processes on one port, graceful exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import aiohttp
import asyncpg

from tests.support.servers import healthy, spawn


async def test_workers_share_a_port_and_stop_on_sigterm(db_url):
    server = spawn(db_url, workers=2, env={"DISPATCH_ACCESS_LOG": "1"}, stderr=subprocess.PIPE)
    proc = server.proc
    try:
        await healthy(server.base)
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        pids = {int(p) for p in children}
        assert len(pids) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        for pid in pids:
            assert (
                not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


async def test_workflows_across_two_worker_processes(settings, throwaway_db):
    """The seeds' two workflows against `dispatch serve --workers 2`: several connections, spread
    by the kernel over both processes, all hear every event."""
    from dispatch.core.db import init_connection
    from tests.support.assist import PICKUP
    from tests.support.factories import auth_header, create_user

    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    client = await create_user(conn, role="client", name="Amel")
    assistants = [
        await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.001 * i, lng=PICKUP["lng"]
        )
        for i in range(1, 7)
    ]
    server = spawn(throwaway_db, workers=2)
    proc, base = server.proc, server.base
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):  # start-up takes 20 s and more on a loaded 2-core machine
                try:
                    async with session.get(f"{base}/api/health/") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # both workers listening
            for _ in range(600):  # the second worker may start later on a loaded machine
                async with session.get(f"{base}/api/health/") as resp:
                    if (await resp.json())["listener"]["state"] == "up":
                        break
                await asyncio.sleep(0.1)
            sockets = []
            for a in assistants:
                token = auth_header(settings, a)["Authorization"].split(" ", 1)[1]
                ws = await session.ws_connect(f"{base}/ws/assistant/{a.id}/?token={token}")
                assert (await ws.receive_json(timeout=5))["type"] == "connection_established"
                sockets.append(ws)
            async with session.post(
                f"{base}/api/assistance/request/",
                json={"pickup": PICKUP},
                headers=auth_header(settings, client),
            ) as resp:
                assert resp.status == 201
                job_id = (await resp.json())["assistance"]["id"]
            for ws in sockets:
                offer = await ws.receive_json(timeout=5)
                assert (
                    offer["type"] == "new_assistance_request" and offer["assistance_id"] == job_id
                )
            token = auth_header(settings, client)["Authorization"].split(" ", 1)[1]
            cws = await session.ws_connect(f"{base}/ws/assistance/{job_id}/?token={token}")
            await cws.receive_json(timeout=5)
            assert (await cws.receive_json(timeout=5))["status"] == "requested"
            async with session.patch(
                f"{base}/api/assistance/accept/{job_id}/",
                headers=auth_header(settings, assistants[0]),
            ) as resp:
                assert resp.status == 200
            while True:
                frame = await cws.receive_json(timeout=5)
                if frame["type"] == "status":
                    break
            assert frame["status"] == "accepted" and frame["assistant"]["id"] == assistants[0].id
            for ws in [*sockets, cws]:
                await ws.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await conn.close()
