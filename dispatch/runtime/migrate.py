"""Migration runner: numbered SQL files once each with checksums; function files on every run."""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Serialises concurrent migrate runs (several workers, parallel test sessions).
LOCK_KEY = 0x6469737061746368  # "dispatch"
LOAD_ORDER = "load_order.txt"


class MigrationError(RuntimeError):
    """The migrations cannot be applied as they are."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(sql_dir: Path) -> list[Migration]:
    folder = sql_dir / "migrations"
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_slug.sql")
        found.append(Migration(match.group(1), path.name, path.read_text()))
    versions = [m.version for m in found]
    duplicates = {v for v in versions if versions.count(v) > 1}
    if duplicates:
        raise MigrationError(f"two migrations share the number {sorted(duplicates)[0]}")
    return found


def load_functions(sql_dir: Path) -> list[tuple[str, str]]:
    """The function files in the order functions/load_order.txt lists them (one name a line,
    `#` comments): a file reads what the files before it define, never the alphabet's luck."""
    folder = sql_dir / "functions"
    present = {p.name for p in folder.glob("*.sql")}
    order_file = folder / LOAD_ORDER
    if not order_file.exists():
        if present:
            raise MigrationError(f"{order_file} is missing: it lists the function files in order")
        return []
    listed = [line.split("#", 1)[0].strip() for line in order_file.read_text().splitlines()]
    listed = [name for name in listed if name]
    if len(set(listed)) != len(listed):
        raise MigrationError(f"{LOAD_ORDER} lists a function file twice")
    if missing := sorted(set(listed) - present):
        raise MigrationError(f"{LOAD_ORDER} lists {', '.join(missing)}, which does not exist")
    if unlisted := sorted(present - set(listed)):
        raise MigrationError(
            f"function files {', '.join(unlisted)} are not in {LOAD_ORDER}: "
            "add each where it belongs in the load order"
        )
    return [(name, (folder / name).read_text()) for name in listed]


# The last migration of the history the SQL baseline replaced (issue 24): a database that recorded
# it was migrated before the baseline, and none of its numbered files exist any more.
PRE_BASELINE_LAST = "0061_domain_rules.sql"
RESET_HINT = (
    "Reset it: `dispatch db-reset` (or `make db-reset`) drops and re-creates the embedded "
    "cluster's database and migrates it; with DATABASE_URL set, drop and re-create that "
    "database yourself, then run `dispatch migrate`."
)


def check_history(done: Mapping[str, Mapping[str, str]], migrations: list[Migration]) -> None:
    """Refuse a database whose recorded migrations are not this checkout's files (the history from
    before the SQL baseline, or another branch's): applying ours on top would fail or mislead."""
    names = {m.version: m.name for m in migrations}
    foreign = sorted(
        row["name"] for version, row in done.items() if names.get(version) != row["name"]
    )
    if not foreign:
        return
    listed = ", ".join(foreign) if len(foreign) <= 3 else f"{foreign[0]} … {foreign[-1]}"
    if PRE_BASELINE_LAST in foreign:
        raise MigrationError(
            f"this database holds the migration history from before the SQL baseline ({listed}), "
            "which one file per area in sql/migrations/ has replaced (nothing was deployed from "
            f"it: docs/decisions/0001-sql-baseline.md). {RESET_HINT}"
        )
    raise MigrationError(
        f"this database recorded migrations this checkout does not have ({listed}). {RESET_HINT}"
    )


@dataclass(frozen=True)
class MigrateResult:
    applied: list[str]
    functions: list[str]


async def migrate(conn: asyncpg.Connection, sql_dir: Path) -> MigrateResult:
    """Apply pending migrations in order (each in its own transaction), then every function file."""
    migrations = load_migrations(sql_dir)
    functions = load_functions(sql_dir)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version    text PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {
            r["version"]: r
            for r in await conn.fetch(
                "SELECT version, name, checksum FROM public.schema_migrations"
            )
        }
        check_history(done, migrations)
        applied: list[str] = []
        for m in migrations:
            if m.version in done:
                if done[m.version]["checksum"] != m.checksum:
                    raise MigrationError(
                        f"migration {m.name} was changed after it was applied "
                        f"(recorded checksum {done[m.version]['checksum'][:12]}…, "
                        f"file now {m.checksum[:12]}…). Applied migrations are immutable: "
                        "restore the file and put the change in a new migration."
                    )
                continue
            try:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO public.schema_migrations (version, name, checksum) "
                        "VALUES ($1, $2, $3)",
                        m.version,
                        m.name,
                        m.checksum,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {m.name} failed and was rolled back: {exc}"
                ) from exc
            log.info("applied migration %s", m.name)
            applied.append(m.name)
        async with conn.transaction():
            for name, sql in functions:
                try:
                    await conn.execute(sql)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"function file {name} failed: {exc}") from exc
        return MigrateResult(applied=applied, functions=[name for name, _ in functions])
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def migrate_url(url: str, sql_dir: Path) -> MigrateResult:
    conn = await asyncpg.connect(url)
    try:
        await ensure_postgis(conn)
        return await migrate(conn, sql_dir)
    finally:
        await conn.close()


async def ensure_postgis(conn: asyncpg.Connection) -> None:
    available = await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
    )
    if not available:
        raise MigrationError(
            "the database server does not offer the PostGIS extension; install PostGIS 3 "
            "(Debian: postgresql-15-postgis-3) or unset DATABASE_URL to use the embedded cluster"
        )


# Daily partitions of dispatch.position_history are named after the day they were made on.
_DAILY_PARTITION = re.compile(r"position_history_p\d{8}")
_VOLATILE_LINE = ("\\restrict ", "\\unrestrict ", "-- Dumped from ", "-- Dumped by ")


def normalise_dump(raw: str) -> str:
    """pg_dump's text without what changes from run to run: its version lines, the random
    \\restrict key, and the daily partitions of position history (named after the day)."""
    lines = [line for line in raw.splitlines() if not line.startswith(_VOLATILE_LINE)]
    entries = re.split(r"\n(?=--\n-- Name: )", "\n".join(lines))
    kept = [e for e in entries if not _DAILY_PARTITION.search(e.split("\n", 2)[1])]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


def dump_schema(url: str, pg_bin: str) -> str:
    """The normalised `pg_dump --schema-only` of the database at `url` (sql/schema.sql's form),
    without the runner's own public.schema_migrations."""
    pg_dump = Path(pg_bin) / "pg_dump"
    command = [str(pg_dump) if pg_dump.exists() else "pg_dump"]
    command += ["--schema-only", "--no-owner", "--no-privileges"]
    command += ["--exclude-table=public.schema_migrations", "--dbname", url]
    try:
        raw = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise MigrationError(f"pg_dump failed: {detail.strip()}") from exc
    return normalise_dump(raw)
