"""A real server node in a subprocess (`python -m api serve`), for tests over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def node(
    db_url: str, *, workers: int = 1, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """A server on a free port against `db_url`; yields its base URL and stops it (SIGTERM)."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PORT": str(port),
        "DISPATCH_ACCESS_LOG": "0",
        "DISPATCH_DB_POOL_MIN": "1",
        **(env or {}),
    }
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--workers", str(workers)],
        env=full_env,
        cwd=PROJECT_ROOT,
        stdout=out,
        stderr=out,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc=proc)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log is not None:
            out.close()  # type: ignore[union-attr]
