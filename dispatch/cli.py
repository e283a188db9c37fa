"""The `dispatch` command: database set-up, migrations, demo data, and the server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from dispatch import db, devdb
from dispatch.config import Settings, SettingsError
from dispatch.migrate import MigrationError, migrate_url
from dispatch.supervise import DrainBarrier

log = logging.getLogger("dispatch.cli")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"invalid setting: {exc}")


def cmd_db_up(settings: Settings, _: argparse.Namespace) -> None:
    if settings.db.url:
        return  # an external server: never start a cluster
    try:
        devdb.cluster(settings.db).up()
    except devdb.DevDbError as exc:
        sys.exit(str(exc))


def cmd_db_down(settings: Settings, _: argparse.Namespace) -> None:
    if settings.db.url:
        print("DATABASE_URL is set: there is no embedded cluster to stop", file=sys.stderr)
        return
    devdb.cluster(settings.db).down()


def cmd_db_url(settings: Settings, _: argparse.Namespace) -> None:
    print(devdb.database_url(settings.db))


def cmd_psql(settings: Settings, _: argparse.Namespace) -> None:
    psql = shutil.which("psql") or str(Path(settings.db.pg_bin) / "psql")
    os.execv(psql, [psql, devdb.database_url(settings.db)])  # noqa: S606


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> None:
    try:
        result = asyncio.run(
            migrate_url(devdb.database_url(settings.db), Path(settings.db.sql_dir))
        )
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        sys.exit(f"migrate: {exc}")
    for name in result.applied:
        print(f"applied {name}")
    print(f"migrations up to date; {len(result.functions)} function files applied")


def cmd_seed(settings: Settings, _: argparse.Namespace) -> None:
    from dispatch.seed import seed_demo

    print(asyncio.run(seed_demo(devdb.database_url(settings.db))))


def cmd_pgtap(settings: Settings, args: argparse.Namespace) -> None:
    from dispatch.testdb import prepare_test_database

    _, url = asyncio.run(prepare_test_database(settings, extensions=("pgtap",)))
    files = sorted(str(p) for p in Path(args.directory).glob("*.sql"))
    if not files:
        sys.exit(f"no pgTAP files in {args.directory}")
    pg_prove = shutil.which("pg_prove")
    if not pg_prove:
        sys.exit("pg_prove not found: install postgresql-15-pgtap")
    proc = subprocess.run([pg_prove, "--failures", "-d", url, *files], check=False)  # noqa: S603
    code = proc.returncode
    sys.exit(code)


def _new_password() -> str:
    import getpass

    first = getpass.getpass("Password (8+ characters): ")
    if first != getpass.getpass("Password again: "):
        sys.exit("create-dispatcher: the passwords do not match")
    return first


async def create_dispatcher_url(
    url: str, *, email: str, phone: str, name: str, password: str
) -> int:
    """Create a dispatcher account on the database at `url`; returns its id."""
    from dispatch.accounts import create_dispatcher
    from dispatch.auth.passwords import hash_password

    password_hash = await hash_password(password)
    conn = await asyncpg.connect(url)
    try:
        async with db.translated(), conn.transaction():
            return await create_dispatcher(
                conn, email=email, phone_number=phone, name=name, password_hash=password_hash
            )
    finally:
        await conn.close()


def cmd_create_dispatcher(settings: Settings, args: argparse.Namespace) -> None:
    from dispatch.accounts import normalise_email, normalise_phone
    from dispatch.errors import DispatchError

    try:
        email, phone = normalise_email(args.email), normalise_phone(args.phone)
    except ValueError as exc:
        sys.exit(f"create-dispatcher: {exc}")
    password = args.password if args.password is not None else _new_password()
    if not 8 <= len(password) <= 128:
        sys.exit("create-dispatcher: the password needs 8 to 128 characters")
    try:
        user_id = asyncio.run(
            create_dispatcher_url(
                devdb.database_url(settings.db),
                email=email,
                phone=phone,
                name=(args.name or "").strip()[:150],
                password=password,
            )
        )
    except DispatchError as exc:
        sys.exit(f"create-dispatcher: {exc.message}")
    print(f"dispatcher {user_id} created ({email})")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    workers = args.workers if args.workers is not None else settings.http.workers
    if workers <= 1:
        _serve_one(settings, reuse_port=args.reuse_port)
        return
    # Supervisor: N worker processes bind the same port with SO_REUSEPORT; the kernel
    # spreads connections. SIGINT/SIGTERM are passed on and the workers drain gracefully.
    cmd = [sys.executable, "-m", "dispatch.cli", "serve", "--workers", "1", "--reuse-port"]
    barrier = DrainBarrier()  # on SIGTERM, no worker closes sockets before all requests are done
    env = {**os.environ, **barrier.env()}
    procs = [
        subprocess.Popen(cmd, env=env, pass_fds=(barrier.write_fd,))  # noqa: S603
        for _ in range(workers)
    ]
    barrier.watch(procs)

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


def main(argv: list[str] | None = None) -> None:
    from api.logs import configure

    parser = argparse.ArgumentParser(prog="dispatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("db-up", help="create/start the embedded cluster (no-op with DATABASE_URL)")
    sub.add_parser("db-down", help="stop the embedded cluster")
    sub.add_parser("db-url", help="print the libpq URL of the database in use")
    sub.add_parser("psql", help="open psql on the database in use")
    sub.add_parser("migrate", help="apply pending migrations and re-apply SQL functions")
    sub.add_parser("seed", help="load the small demo data set (idempotent)")
    pgtap = sub.add_parser("pgtap", help="run pg_prove over a directory on the test database")
    pgtap.add_argument("directory")
    dispatcher = sub.add_parser("create-dispatcher", help="create a dispatcher account")
    dispatcher.add_argument("--email", required=True)
    dispatcher.add_argument("--phone", required=True)
    dispatcher.add_argument("--name", default="")
    dispatcher.add_argument("--password", help="the password (prompted for when left out)")
    serve = sub.add_parser("serve", help="serve HTTP and WebSockets in the foreground")
    serve.add_argument("--workers", type=int, default=None, help="processes (default: WORKERS)")
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    commands = {
        "db-up": cmd_db_up,
        "db-down": cmd_db_down,
        "db-url": cmd_db_url,
        "psql": cmd_psql,
        "migrate": cmd_migrate,
        "seed": cmd_seed,
        "pgtap": cmd_pgtap,
        "serve": cmd_serve,
        "create-dispatcher": cmd_create_dispatcher,
    }
    settings = _settings()
    configure(settings.http.log_level)
    commands[args.command](settings, args)


if __name__ == "__main__":
    main()
