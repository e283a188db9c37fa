"""A real server node in a subprocess (`python -m api serve`), for tests over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from dispatch.core.config import PROJECT_ROOT


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/health/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base} did not become healthy")


@dataclass
class Spawned:
    """A `dispatch serve` process and the port it serves on."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def spawn(
    db_url: str,
    *,
    port: int | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    stderr: Any = subprocess.DEVNULL,
) -> Spawned:
    """`dispatch serve --workers N` against `db_url` on `port` (a free one by default), in a
    process group of its own (so that `stop` can take its workers too). The one way the tests
    start a server process."""
    port = port or free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PORT": str(port),
        "DISPATCH_ACCESS_LOG": "0",
        "DISPATCH_DB_POOL_MIN": "1",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--workers", str(workers)],
        env=full_env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL if stderr is subprocess.PIPE else stderr,
        stderr=stderr,
        start_new_session=True,
    )
    return Spawned(proc, port)


def stop(proc: subprocess.Popen[Any], *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Signal the server (SIGTERM: a graceful stop; SIGKILL: a crash) and wait for it; whatever
    is left of its process group after `timeout` is killed."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def healthy(base: str, *, within: float = 90.0, listener: bool = False) -> None:
    """Until /api/health/ answers 200 (and, with `listener`, its event listener is up): start-up
    takes many seconds on a loaded machine, so the wait is generous."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"{base}/api/health/") as resp:
                    if resp.status == 200 and (
                        not listener or (await resp.json())["listener"]["state"] == "up"
                    ):
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} did not become healthy")


@contextlib.contextmanager
def node(
    db_url: str, *, workers: int = 1, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """A server on a free port against `db_url`; yields its base URL and stops it (SIGTERM)."""
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    try:
        server = spawn(db_url, workers=workers, env=env, stderr=out)
        try:
            wait_healthy(server.base, proc=server.proc)
            yield server.base
        finally:
            stop(server.proc)
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
