"""The composition root: the `dispatch` console command, with `serve` composing the web server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from dispatch.core.config import Settings
from dispatch.runtime import cli

log = logging.getLogger("dispatch.serve")


def _metrics_dir(settings: Settings) -> Path | None:
    """With metrics on, the multiprocess directory every worker writes its samples to: the
    PROMETHEUS_MULTIPROC_DIR given (emptied: samples of a previous run would count), or a private
    temporary one. Set before prometheus_client is imported, which reads it once."""
    if not settings.metrics.enabled:
        return None
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return None  # the operator's directory: left in place
    path = Path(tempfile.mkdtemp(prefix="dispatch-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    workers = args.workers if args.workers is not None else settings.http.workers
    own_dir = None if args.reuse_port else _metrics_dir(settings)  # workers inherit it
    try:
        _serve(settings, args, workers)
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


def _serve(settings: Settings, args: argparse.Namespace, workers: int) -> None:
    if workers <= 1:
        _serve_one(settings, reuse_port=args.reuse_port)
        return
    # Supervisor: N worker processes bind the same port with SO_REUSEPORT; the kernel
    # spreads connections. SIGINT/SIGTERM are passed on and the workers drain gracefully.
    # A worker that dies (a crash, the OOM killer) is replaced: see dispatch/runtime/supervisor.py.
    from dispatch.runtime.supervisor import Supervisor

    cmd = [sys.executable, "-m", "api", "serve", "--workers", "1", "--reuse-port"]
    supervisor = Supervisor(cmd, workers)
    code = supervisor.run()
    if settings.metrics.enabled:
        from prometheus_client import multiprocess

        for pid in supervisor.pids:  # drop the live gauges (open sockets, pool) of exited workers
            multiprocess.mark_process_dead(pid)
    sys.exit(code)


def _serve_one(settings: Settings, *, reuse_port: bool) -> None:
    from aiohttp import web

    from api.app import create_app
    from api.logs import AccessLogger

    app = create_app(settings)
    web.run_app(
        app,
        host=settings.http.host,
        port=settings.http.port,
        reuse_port=reuse_port or None,
        shutdown_timeout=settings.http.shutdown_timeout,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("dispatch.access") if settings.http.access_log else None,
        print=lambda msg: log.info(msg.strip()),
        handle_signals=True,
        loop=_event_loop(),
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop: the same asyncio API at a fraction of the CPU per socket operation."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None, help="processes (default: WORKERS)")
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


SERVE = cli.Extra(
    name="serve",
    help="serve HTTP and WebSockets in the foreground",
    arguments=_serve_arguments,
    run=cmd_serve,
)


def main(argv: list[str] | None = None) -> None:
    cli.main(argv, extra=[SERVE])
