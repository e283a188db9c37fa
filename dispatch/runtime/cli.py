"""The `dispatch` command's domain half: database set-up, migrations, demo data, accounts, roads."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg

from dispatch.core import db
from dispatch.core.config import Settings, SettingsError
from dispatch.core.errors import DispatchError
from dispatch.core.logs import configure
from dispatch.runtime import devdb
from dispatch.runtime.migrate import MigrationError, dump_schema, migrate_url


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


def read_url(settings: Settings) -> str:
    """Where analysts read: DATABASE_READ_URL (a replica) when set, else the database in use."""
    return settings.db.read_url or devdb.database_url(settings.db)


def cmd_psql(settings: Settings, args: argparse.Namespace) -> None:
    if args.replica and not settings.db.read_url:
        sys.exit("psql --replica: set DATABASE_READ_URL (`dispatch ha url --replica` gives one)")
    psql = shutil.which("psql") or str(Path(settings.db.pg_bin) / "psql")
    url = read_url(settings) if args.replica else devdb.database_url(settings.db)
    os.execv(psql, [psql, url])  # noqa: S606


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


def cmd_db_reset(settings: Settings, args: argparse.Namespace) -> None:
    """Drop the embedded cluster's database, re-create it and migrate it (local data is lost)."""
    from dispatch.runtime.testdb import database_name, drop_database

    if settings.db.url:
        sys.exit(
            "db-reset: DATABASE_URL is set; db-reset only resets the embedded cluster's database. "
            "Drop and re-create that database yourself, then run `dispatch migrate`."
        )
    cmd_db_up(settings, args)
    url = devdb.database_url(settings.db)
    asyncio.run(drop_database(url))
    print(f"dropped database {database_name(url)}")
    cmd_db_up(settings, args)  # re-creates the database
    cmd_migrate(settings, args)


async def migrated_schema(settings: Settings, suffix: str = "_schema") -> str:
    """Migrate a new scratch database (`<database><suffix>`) on the server in use and return its
    normalised schema dump, what sql/schema.sql holds; the scratch database is dropped after."""
    from dispatch.runtime.testdb import database_name, drop_database, with_database

    main_url = devdb.database_url(settings.db)
    url = with_database(main_url, database_name(main_url) + suffix)
    await drop_database(url)
    admin = await asyncpg.connect(with_database(main_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{database_name(url)}"')
    finally:
        await admin.close()
    try:
        await migrate_url(url, Path(settings.db.sql_dir))
        return dump_schema(url, settings.db.pg_bin)
    finally:
        await drop_database(url)


def cmd_schema_dump(settings: Settings, _: argparse.Namespace) -> None:
    try:
        sys.stdout.write(asyncio.run(migrated_schema(settings)))
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        sys.exit(f"schema-dump: {exc}")


def cmd_seed(settings: Settings, _: argparse.Namespace) -> None:
    from dispatch.demo.seed import seed_demo

    print(asyncio.run(seed_demo(devdb.database_url(settings.db))))


def cmd_pgtap(settings: Settings, args: argparse.Namespace) -> None:
    from dispatch.runtime.testdb import prepare_test_database

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


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    from dispatch.operations.export import dumps, heatmap

    async def run() -> bytes:
        # Analysts' reads go to the replica when there is one: heavy scans off the primary.
        conn = await asyncpg.connect(read_url(settings))
        try:
            async with db.translated():
                collection = await heatmap(
                    conn, resolution=args.resolution, since=args.since, until=args.until
                )
        finally:
            await conn.close()
        return dumps(collection)

    if args.until is not None and args.until <= args.since:
        sys.exit("export: --until must be after --since")
    try:
        data = asyncio.run(run())
    except DispatchError as exc:
        sys.exit(f"export: {exc.message}")
    if args.output == "-":
        sys.stdout.buffer.write(data + b"\n")
    else:
        Path(args.output).write_bytes(data + b"\n")
        print(f"wrote {args.output}", file=sys.stderr)


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {raw!r}") from None


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
    from dispatch.accounts.passwords import hash_password
    from dispatch.accounts.users import create_dispatcher

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
    from dispatch.accounts.users import normalise_email, normalise_phone

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


def cmd_roads(settings: Settings, args: argparse.Namespace) -> None:
    """`dispatch roads import|fetch|list|drop`: road graphs from OpenStreetMap (docs/roads.md)."""
    from dispatch.roads import extracts, importer

    if args.action == "fetch":
        try:
            path = extracts.fetch(args.extract)
        except extracts.ExtractError as exc:
            sys.exit(f"roads fetch: {exc}")
        print(path)
        print(extracts.ATTRIBUTION)
        return

    async def run() -> None:
        conn = await asyncpg.connect(devdb.database_url(settings.db))
        try:
            await db.init_connection(conn)
            if args.action == "import":
                done = await importer.import_file(conn, Path(args.file), name=args.name)
                print(
                    f"region {done.name}: {done.edges} edges, {done.vertices} vertices, "
                    f"{done.main_vertices} in the main piece, {done.area_km2:.2f} km², "
                    f"{done.seconds:.1f} s"
                )
                print(extracts.ATTRIBUTION)
            elif args.action == "list":
                for r in await importer.list_regions(conn):
                    print(
                        f"{r['name']}\t{r['edges']} edges\t{r['vertices']} vertices\t"
                        f"{r['area_km2']:.2f} km²\t{r['source']}\t{r['imported_at']:%Y-%m-%d %H:%M}"
                    )
            elif not await importer.drop_region(conn, args.name):
                sys.exit(f"roads drop: no region named {args.name!r}")
            else:
                print(f"dropped region {args.name}")
        finally:
            await conn.close()

    if args.action == "import" and not Path(args.file).is_file():
        sys.exit(f"roads import: no such file: {args.file}")
    try:
        asyncio.run(run())
    except (importer.RoadImportError, OSError, asyncpg.PostgresError) as exc:
        sys.exit(f"roads {args.action}: {exc}")


def cmd_ha(settings: Settings, args: argparse.Namespace) -> None:
    """`dispatch ha up|url|status|switchover|crash|down`: a pg_auto_failover formation on this
    machine (docs/operations.md, "Failover")."""
    from dispatch.runtime import ha

    formation = ha.formation(settings.db)
    if args.action != "up" and not formation.exists():
        if args.action == "down":
            return
        sys.exit(f"ha {args.action}: no formation; start one with `dispatch ha up`")
    try:
        if args.action == "up":
            url = formation.start(standbys=args.standbys)
            result = asyncio.run(migrate_url(url, Path(settings.db.sql_dir)))
            print(f"formation up, migrated ({len(result.applied)} new migrations)", file=sys.stderr)
            print(url)
        elif args.action == "url":
            print(formation.url(attrs="prefer-standby" if args.replica else "read-write"))
        elif args.action == "status":
            print(formation.status(), end="")
        elif args.action == "switchover":
            formation.switchover()
            formation.wait_settled()
            print(f"primary: {formation.primary()}")
        elif args.action == "crash":
            victim = formation.primary()
            if victim is None:
                sys.exit("ha crash: no primary right now")
            formation.crash(victim)
            print(f"killed {victim} (SIGKILL to its pg_autoctl and postmaster)")
        else:
            formation.stop(purge=args.purge)
    except (devdb.DevDbError, MigrationError, OSError, asyncpg.PostgresError) as exc:
        sys.exit(f"ha {args.action}: {exc}")


Command = Callable[[Settings, argparse.Namespace], None]


@dataclass(frozen=True)
class Extra:
    """A sub-command contributed by an outer layer (the server's `serve`, composed in api.main)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Command


def main(argv: list[str] | None = None, *, extra: Sequence[Extra] = ()) -> None:
    """The domain's commands; `extra` adds the ones a layer above composes (dispatch/ never
    imports api/: the `dispatch` console script is api.main, which adds `serve`)."""
    parser = argparse.ArgumentParser(prog="dispatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("db-up", help="create/start the embedded cluster (no-op with DATABASE_URL)")
    sub.add_parser("db-down", help="stop the embedded cluster")
    sub.add_parser("db-url", help="print the libpq URL of the database in use")
    psql = sub.add_parser("psql", help="open psql on the database in use")
    psql.add_argument("--replica", action="store_true", help="on DATABASE_READ_URL instead")
    sub.add_parser("migrate", help="apply pending migrations and re-apply SQL functions")
    sub.add_parser(
        "db-reset", help="drop, re-create and migrate the embedded cluster's database (data lost)"
    )
    sub.add_parser(
        "schema-dump",
        help="print the normalised schema of a freshly migrated database (> sql/schema.sql)",
    )
    sub.add_parser("seed", help="load the small demo data set (idempotent)")
    pgtap = sub.add_parser("pgtap", help="run pg_prove over a directory on the test database")
    pgtap.add_argument("directory")
    dispatcher = sub.add_parser("create-dispatcher", help="create a dispatcher account")
    dispatcher.add_argument("--email", required=True)
    dispatcher.add_argument("--phone", required=True)
    dispatcher.add_argument("--name", default="")
    dispatcher.add_argument("--password", help="the password (prompted for when left out)")
    export = sub.add_parser("export", help="write analyst figures as GeoJSON")
    export_kind = export.add_subparsers(dest="kind", required=True)
    hm = export_kind.add_parser("heatmap", help="H3 cell polygons with demand, supply and waits")
    hm.add_argument("--resolution", type=int, choices=(7, 8), default=8)
    hm.add_argument("--since", type=_day, required=True, help="first UTC day (YYYY-MM-DD)")
    hm.add_argument("--until", type=_day, default=None, help="day after the last (default: now)")
    hm.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    roads = sub.add_parser("roads", help="import OpenStreetMap road graphs (regions)")
    roads_action = roads.add_subparsers(dest="action", required=True)
    imp = roads_action.add_parser("import", help="import an .osm.pbf's car roads as a region")
    imp.add_argument("file", help="an .osm.pbf file")
    imp.add_argument("--name", default=None, help="region name (default: the file's stem)")
    fetch = roads_action.add_parser("fetch", help="download a demo extract into .dispatch/osm/")
    fetch.add_argument("extract", choices=("monaco", "helsinki"))
    roads_action.add_parser("list", help="list imported regions")
    drop = roads_action.add_parser("drop", help="drop a region and its roads")
    drop.add_argument("name")
    ha_parser = sub.add_parser("ha", help="a pg_auto_failover formation on this machine")
    ha_action = ha_parser.add_subparsers(dest="action", required=True)
    ha_up = ha_action.add_parser("up", help="create/start a monitor, a primary and standbys")
    ha_up.add_argument("--standbys", type=int, default=2, choices=range(1, 8), metavar="N")
    ha_url = ha_action.add_parser("url", help="print the multi-host URL of the primary")
    ha_url.add_argument(
        "--replica", action="store_true", help="a URL preferring a standby (DATABASE_READ_URL)"
    )
    ha_action.add_parser("status", help="who is primary, each node's state and LSN")
    ha_action.add_parser("switchover", help="a planned switchover to a standby")
    ha_action.add_parser("crash", help="SIGKILL the primary node (service and postmaster)")
    ha_down = ha_action.add_parser("down", help="stop the monitor and every node")
    ha_down.add_argument("--purge", action="store_true", help="and delete their data")
    commands: dict[str, Command] = {
        "ha": cmd_ha,
        "db-up": cmd_db_up,
        "db-down": cmd_db_down,
        "db-url": cmd_db_url,
        "psql": cmd_psql,
        "migrate": cmd_migrate,
        "db-reset": cmd_db_reset,
        "schema-dump": cmd_schema_dump,
        "seed": cmd_seed,
        "pgtap": cmd_pgtap,
        "create-dispatcher": cmd_create_dispatcher,
        "export": cmd_export,
        "roads": cmd_roads,
    }
    for command in extra:
        command.arguments(sub.add_parser(command.name, help=command.help))
        commands[command.name] = command.run
    args = parser.parse_args(argv)
    settings = _settings()
    configure(settings.http.log_level)
    commands[args.command](settings, args)


if __name__ == "__main__":
    main()
