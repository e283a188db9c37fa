"""Robustness of the served process (issue 14): tokens never reach the log, dead workers replaced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from tests.support.servers import healthy, spawn, stop

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.c2VjcmV0LXNpZ25hdHVyZQ"


@contextlib.contextmanager
def served(db_url: str, log: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
    with log.open("wb") as err:
        server = spawn(db_url, workers=workers, env={"DISPATCH_ACCESS_LOG": "1"}, stderr=err)
    try:
        yield server.proc, server.port
    finally:
        stop(server.proc, timeout=60)


async def wait_healthy(port: int) -> None:
    await healthy(f"http://127.0.0.1:{port}")


async def raw_request(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return answer


async def test_tokens_never_reach_the_log(db_url, tmp_path):
    log = tmp_path / "server.log"
    with served(db_url, log, "--workers", "1") as (proc, port):
        await wait_healthy(port)
        path = f"/ws/assistant/1/?token={SECRET}".encode()
        bad_byte = await raw_request(port, b"GET " + path + b"\xff HTTP/1.1\r\nHost: t\r\n\r\n")
        too_long = await raw_request(
            port, b"GET " + path + b"&pad=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert b" 400 " in bad_byte.split(b"\r\n", 1)[0]
        assert too_long.split(b"\r\n", 1)[0].split(b" ")[1] in (b"400", b"414")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/ws/assistant/1/?token={SECRET}") as r:
                assert r.status == 401
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert "Error handling request" in text  # aiohttp did log the malformed lines...
    assert "token=[redacted]" in text  # ...with the token cut out
    assert "eyJhbGciOiJIUzI1NiJ9" not in text and "c2VjcmV0LXNpZ25hdHVyZQ" not in text


def children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return {int(p) for p in out.stdout.split()}


async def test_a_killed_worker_is_replaced(db_url, tmp_path):
    log = tmp_path / "server.log"
    with served(db_url, log, "--workers", "2") as (proc, port):
        await wait_healthy(port)
        deadline = time.monotonic() + 90
        while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert len(workers) == 2
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            now = children(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            await asyncio.sleep(0.2)
        assert len(now) == 2 and victim not in now, now
        await wait_healthy(port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    text = log.read_text()
    assert f"worker pid {victim} exited with signal 9" in text
    assert "worker replaced" in text


async def test_workers_die_with_a_killed_supervisor(db_url, tmp_path):
    with served(db_url, tmp_path / "server.log", "--workers", "2") as (proc, port):
        await wait_healthy(port)
        deadline = time.monotonic() + 90
        while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert len(workers) == 2
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 60
        alive = workers
        while alive and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            alive = {pid for pid in alive if _running(pid)}
        assert not alive, "workers outlived their supervisor"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "zombie" not in fh.read()
    except FileNotFoundError:
        return False
