"""The migration runner: order, one transaction each, checksum refusal, functions re-applied."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from dispatch.runtime.migrate import MigrationError, migrate
from dispatch.runtime.testdb import drop_database, with_database


@pytest.fixture
async def empty_db(db_url):
    url = with_database(db_url, "dispatch_migrate_probe")
    admin = await asyncpg.connect(with_database(db_url, "postgres"))
    await admin.execute('DROP DATABASE IF EXISTS "dispatch_migrate_probe" WITH (FORCE)')
    await admin.execute('CREATE DATABASE "dispatch_migrate_probe"')
    await admin.close()
    conn = await asyncpg.connect(url)
    yield conn
    await conn.close()
    await drop_database(url)


def write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    write(tmp_path / "migrations", "0001_parent.sql", "CREATE TABLE parent (id int PRIMARY KEY);")
    # 0002 depends on 0001: it only works when they run in order.
    write(
        tmp_path / "migrations",
        "0002_child.sql",
        "CREATE TABLE child (parent_id int REFERENCES parent (id));",
    )
    write(
        tmp_path / "functions",
        "answer.sql",
        "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';",
    )
    write(tmp_path / "functions", "load_order.txt", "# the load order\nanswer.sql\n")
    return tmp_path


async def test_applies_in_order_once_and_records_checksums(empty_db, sql_dir):
    result = await migrate(empty_db, sql_dir)
    assert result.applied == ["0001_parent.sql", "0002_child.sql"]
    rows = await empty_db.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == ["0001", "0002"]
    assert all(len(r["checksum"]) == 64 for r in rows)
    again = await migrate(empty_db, sql_dir)
    assert again.applied == []


async def test_functions_are_reapplied_every_run(empty_db, sql_dir):
    await migrate(empty_db, sql_dir)
    assert await empty_db.fetchval("SELECT answer()") == 1
    write(
        sql_dir / "functions",
        "answer.sql",
        "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 42';",
    )
    result = await migrate(empty_db, sql_dir)
    assert result.applied == [] and result.functions == ["answer.sql"]
    assert await empty_db.fetchval("SELECT answer()") == 42


async def test_functions_load_in_the_listed_order(empty_db, sql_dir):
    # b.sql's SQL-language function reads a.sql's; z.sql goes first although it sorts last.
    write(
        sql_dir / "functions",
        "z.sql",
        "CREATE OR REPLACE FUNCTION z() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 26';",
    )
    write(
        sql_dir / "functions",
        "b.sql",
        "CREATE OR REPLACE FUNCTION b() RETURNS int "
        "LANGUAGE sql IMMUTABLE AS 'SELECT z() + answer()';",
    )
    write(sql_dir / "functions", "load_order.txt", "z.sql\nanswer.sql\nb.sql  # needs both\n")
    result = await migrate(empty_db, sql_dir)
    assert result.functions == ["z.sql", "answer.sql", "b.sql"]
    assert await empty_db.fetchval("SELECT b()") == 27


async def test_function_file_missing_from_the_order_is_refused(empty_db, sql_dir):
    write(sql_dir / "functions", "stray.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="stray.sql are not in load_order.txt"):
        await migrate(empty_db, sql_dir)
    (sql_dir / "functions" / "stray.sql").unlink()
    write(sql_dir / "functions", "load_order.txt", "answer.sql\ngone.sql\n")
    with pytest.raises(MigrationError, match="gone.sql, which does not exist"):
        await migrate(empty_db, sql_dir)


async def test_edited_applied_migration_is_refused(empty_db, sql_dir):
    await migrate(empty_db, sql_dir)
    write(sql_dir / "migrations", "0001_parent.sql", "CREATE TABLE parent (id bigint PRIMARY KEY);")
    with pytest.raises(MigrationError, match="0001_parent.sql was changed after it was applied"):
        await migrate(empty_db, sql_dir)


async def test_failing_migration_rolls_back_and_is_not_recorded(empty_db, sql_dir):
    write(
        sql_dir / "migrations",
        "0003_broken.sql",
        "CREATE TABLE half (id int); SELECT * FROM no_such_table;",
    )
    with pytest.raises(MigrationError, match="0003_broken.sql failed"):
        await migrate(empty_db, sql_dir)
    assert await empty_db.fetchval("SELECT to_regclass('half')") is None
    versions = await empty_db.fetch("SELECT version FROM schema_migrations")
    assert sorted(r["version"] for r in versions) == ["0001", "0002"]


async def test_badly_named_migration_is_refused(empty_db, sql_dir):
    write(sql_dir / "migrations", "3_oops.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_slug.sql"):
        await migrate(empty_db, sql_dir)


async def test_project_migrations_are_applied(conn):
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 1
    assert await conn.fetchval("SELECT postgis_lib_version()") is not None


async def record(conn, *names: str) -> None:
    """Rows in schema_migrations as an earlier checkout's runner left them."""
    await conn.execute(
        "CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL, "
        "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for name in names:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            name[:4],
            name,
            "0" * 64,
        )


async def test_history_from_before_the_baseline_is_refused_with_the_reset_command(
    empty_db, settings
):
    # The project's own migrations against the diary they replaced: a clear message naming the
    # reset, not a checksum error on 0001_core.sql, and nothing applied.
    await record(empty_db, "0001_core.sql", "0002_events.sql", "0061_domain_rules.sql")
    with pytest.raises(MigrationError, match="before the SQL baseline") as refused:
        await migrate(empty_db, Path(settings.db.sql_dir))
    assert "dispatch db-reset" in str(refused.value)
    assert "changed after it was applied" not in str(refused.value)
    assert await empty_db.fetchval("SELECT to_regnamespace('dispatch')") is None


async def test_migrations_this_checkout_lacks_are_refused(empty_db, sql_dir):
    await record(empty_db, "0001_parent.sql", "0002_elsewhere.sql")
    with pytest.raises(MigrationError, match=r"does not have \(0002_elsewhere.sql\)"):
        await migrate(empty_db, sql_dir)
