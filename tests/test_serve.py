"""`dispatch serve`: several worker processes on one port, graceful exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import aiohttp

from tests.test_devdb import free_port


async def test_workers_share_a_port_and_stop_on_sigterm(db_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "PORT": str(port), "DISPATCH_DB_POOL_MIN": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dispatch.cli", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        pids: set[int] = set()
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/api/health/") as resp:
                        assert resp.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("server did not start")
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
