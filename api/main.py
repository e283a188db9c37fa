"""The composition root: the `dispatch` console command, with `serve` composing the web server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import subprocess
import sys

from dispatch import cli
from dispatch.config import Settings

log = logging.getLogger("dispatch.serve")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    workers = args.workers if args.workers is not None else settings.http.workers
    if workers <= 1:
        _serve_one(settings, reuse_port=args.reuse_port)
        return
    # Supervisor: N worker processes bind the same port with SO_REUSEPORT; the kernel
    # spreads connections. SIGINT/SIGTERM are passed on and the workers drain gracefully.
    cmd = [sys.executable, "-m", "api", "serve", "--workers", "1", "--reuse-port"]
    procs = [subprocess.Popen(cmd) for _ in range(workers)]  # noqa: S603

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [proc.wait() for proc in procs]
    sys.exit(max(codes, default=0))


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
